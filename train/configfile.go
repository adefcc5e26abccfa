package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gosnn/gosnn/topology"
)

// ReadConfig reads and validates a YAML config file (see ParseConfig).
func ReadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(data, path)
}

// ParseConfig reads a YAML config strictly: every key must be a field of
// Config (or of its parts), every value of the field's type, and the
// result must pass Validate. Each error names source, the line and the
// key, as "source:LINE: key: what is wrong".
func ParseConfig(data []byte, source string) (Config, error) {
	var cfg Config
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return cfg, yamlError(source, nil, err)
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return cfg, fmt.Errorf("%s: the config is empty", source)
	}
	if root.Content[0].Kind != yaml.MappingNode {
		return cfg, fmt.Errorf("%s:%d: a config is a mapping of keys (name, data, epochs, network, ...)", source, root.Content[0].Line)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return cfg, yamlError(source, root.Content[0], err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return cfg, fmt.Errorf("%s: holds more than one YAML document; a config is one", source)
	}
	if err := cfg.Validate(); err != nil {
		var lines []string
		for _, e := range unjoin(errors.Unwrap(err)) {
			var fe *topology.FieldError
			if errors.As(e, &fe) {
				lines = append(lines, fmt.Sprintf("%s:%d: %s", source, lineOf(root.Content[0], fe.Path), fe.Error()))
			} else {
				lines = append(lines, fmt.Sprintf("%s: %v", source, e))
			}
		}
		return cfg, errors.New(strings.Join(lines, "\n"))
	}
	return cfg, nil
}

// yamlLine matches yaml.v3's "line N: " prefixes.
var yamlLine = regexp.MustCompile(`^(yaml: )?(unmarshal errors:\s*)?line (\d+): `)

// yamlError rewrites yaml.v3's errors as "source:LINE: key: message"
// lines, naming unknown keys as such and the key of a value of the wrong
// type (found in root, when given).
func yamlError(source string, root *yaml.Node, err error) error {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for i, m := range msgs {
		m = strings.TrimSpace(m)
		line := 0
		if g := yamlLine.FindStringSubmatch(m); g != nil {
			line, _ = strconv.Atoi(g[3])
			m = m[len(g[0]):]
		} else {
			m = strings.TrimPrefix(m, "yaml: ")
		}
		if k := strings.Index(m, "field "); k >= 0 && strings.Contains(m, " not found in type ") {
			key := strings.SplitN(m[k+len("field "):], " ", 2)[0]
			m = m[:k] + "unknown key " + strconv.Quote(key) + " (not a config field here)"
		} else if root != nil && line > 0 {
			if key := keyAtLine(root, line, ""); key != "" {
				m = key + ": " + m
			}
		}
		if line > 0 {
			msgs[i] = fmt.Sprintf("%s:%d: %s", source, line, m)
		} else {
			msgs[i] = fmt.Sprintf("%s: %s", source, m)
		}
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// keyAtLine returns the path of the innermost key whose value starts on
// line, or "".
func keyAtLine(node *yaml.Node, line int, path string) string {
	switch node.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + p
			}
			if inner := keyAtLine(v, line, p); inner != "" {
				return inner
			}
			if v.Line == line && v.Kind == yaml.ScalarNode {
				return p
			}
		}
	case yaml.SequenceNode:
		for i, v := range node.Content {
			if inner := keyAtLine(v, line, fmt.Sprintf("%s[%d]", path, i)); inner != "" {
				return inner
			}
		}
	}
	return ""
}

// lineOf finds the line of a field path such as
// "network.nodes[2] (hidden).size" in a decoded YAML mapping: the line of
// the deepest part of the path that exists.
func lineOf(node *yaml.Node, path string) int {
	line := node.Line
	for _, part := range strings.Split(stripNames(path), ".") {
		key, indexes := part, []int(nil)
		if b := strings.IndexByte(part, '['); b >= 0 {
			key = part[:b]
			for _, ix := range strings.Split(strings.TrimSuffix(part[b+1:], "]"), "][") {
				i, err := strconv.Atoi(ix)
				if err != nil {
					return line
				}
				indexes = append(indexes, i)
			}
		}
		if key != "" {
			next := mappingValue(node, key)
			if next == nil {
				return line
			}
			node, line = next, next.Line
		}
		for _, i := range indexes {
			if node.Kind != yaml.SequenceNode || i >= len(node.Content) {
				return line
			}
			node = node.Content[i]
			line = node.Line
		}
	}
	return line
}

// stripNames removes the " (node name)" annotations of a field path.
func stripNames(path string) string {
	var b strings.Builder
	depth := 0
	for _, r := range path {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth--
		case depth == 0 && r != ' ':
			b.WriteRune(r)
		}
	}
	return b.String()
}

func mappingValue(node *yaml.Node, key string) *yaml.Node {
	if node.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		if node.Content[i].Value == key {
			return node.Content[i+1]
		}
	}
	return nil
}

// YAML writes the config as YAML (config.yaml of a results folder).
func (c Config) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encoding the config as YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding the config as YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// Clone returns a deep copy (the network's nodes hold pointers).
func (c Config) Clone() Config {
	data, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Errorf("cloning config: %w", err))
	}
	var out Config
	if err := json.Unmarshal(data, &out); err != nil {
		panic(fmt.Errorf("cloning config: %w", err))
	}
	return out
}
