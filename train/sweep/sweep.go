package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gosnn/gosnn/train"
)

// File is a sweep file: a base config, keys set for every point, and the
// axes of the grid.
//
//	name: hidden_lr                # the sweep folder is <out>/<name>_<timestamp>
//	base: yin_yang                 # a shipped config, or a config file (relative to this file)
//	set:                           # keys set for every point (optional)
//	  epochs: 20
//	grid:                          # every combination; the first key varies slowest
//	  network.nodes.hidden.size: [30, 120]
//	  learning_rate: [0.001, 0.005]
//	  seed: [1, 2, 3]              # seeds: the spread of "sweep plot"
//	zip:                           # lists walked together (equal lengths), optional;
//	  lr_step_size: [10, 20]       # each grid combination runs with every zip row
//	  lr_gamma: [0.9, 0.95]
//
// A key is a path into the config's YAML: mapping keys joined by dots; a
// list is indexed by [i], and a list of named items (network.nodes) also
// by the item's name, so network.nodes.hidden.size is the size of the node
// named hidden. A value is any YAML value of the key's type.
type File struct {
	Name string    `yaml:"name"`
	Base string    `yaml:"base"`
	Set  yaml.Node `yaml:"set"`
	Grid yaml.Node `yaml:"grid"`
	Zip  yaml.Node `yaml:"zip"`

	source string // the file's name, for errors
	dir    string // the file's folder, for a relative base
}

// fieldNotFound matches yaml.v3's error for an unknown key.
var fieldNotFound = regexp.MustCompile(`^line (\d+): field (\S+) not found in type`)

// Axis is one swept key with its values.
type Axis struct {
	Key    string
	Values []*yaml.Node
	line   int
}

// Setting is one key's value at a point.
type Setting struct {
	Key   string
	Value *yaml.Node
	line  int // of the key in the sweep file
}

// Text is the value as written in YAML (flow style for lists).
func (s Setting) Text() string { return nodeText(s.Value) }

// Point is one grid point: its index and the swept keys' values, in axis
// order.
type Point struct {
	Index    int
	Settings []Setting
}

// Plan is a sweep file read and checked: its base config and every point's
// config.
type Plan struct {
	File    File
	Base    train.Config
	Fixed   []Setting
	Axes    []Axis
	Points  []Point
	Configs []train.Config
}

// ReadFile reads a sweep file, strictly (unknown keys are errors), resolves
// its base config and builds every point's config, so that a key that is
// not in the config, a value of the wrong type or an impossible value is
// found before anything runs; errors name the sweep file, the line and the
// key.
func ReadFile(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	return Parse(data, path, filepath.Dir(path))
}

// Parse reads a sweep file's text (see ReadFile); source names it in
// errors and dir is where a relative base config is looked for.
func Parse(data []byte, source, dir string) (*Plan, error) {
	f := File{source: source, dir: dir}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the sweep file is empty", source)
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var msgs []string
			for _, m := range te.Errors {
				if g := fieldNotFound.FindStringSubmatch(m); g != nil {
					m = fmt.Sprintf("%s:%s: unknown key %q (a sweep file holds name, base, set, grid, zip)", source, g[1], g[2])
				} else {
					m = source + ": " + m
				}
				msgs = append(msgs, m)
			}
			return nil, errors.New(strings.Join(msgs, "; "))
		}
		return nil, fmt.Errorf("%s: %s", source, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	f.source, f.dir = source, dir
	if f.Name == "" || strings.ContainsAny(f.Name, "/\\ \t") {
		return nil, fmt.Errorf("%s: name: must be a non-empty name without '/' or spaces, got %q", source, f.Name)
	}
	if f.Base == "" {
		return nil, fmt.Errorf("%s: base: give the base config (a shipped config such as yin_yang, or a config file)", source)
	}
	base, err := f.baseConfig()
	if err != nil {
		return nil, err
	}
	p := &Plan{File: f, Base: base}
	if p.Fixed, err = f.settings(&f.Set, "set"); err != nil {
		return nil, err
	}
	gridAxes, err := f.axes(&f.Grid, "grid")
	if err != nil {
		return nil, err
	}
	zipAxes, err := f.axes(&f.Zip, "zip")
	if err != nil {
		return nil, err
	}
	rows := 1
	for i, a := range zipAxes {
		if i == 0 {
			rows = len(a.Values)
		} else if len(a.Values) != rows {
			return nil, fmt.Errorf("%s:%d: zip key %q has %d values, %q has %d: zip lists are walked together and need one length",
				source, a.line, a.Key, len(a.Values), zipAxes[0].Key, rows)
		}
	}
	p.Axes = append(gridAxes, zipAxes...)
	seen := map[string]int{}
	for _, s := range p.Fixed {
		seen[s.Key] = s.line
	}
	for _, a := range p.Axes {
		if l, ok := seen[a.Key]; ok {
			return nil, fmt.Errorf("%s:%d: key %q is given twice (also on line %d)", source, a.line, a.Key, l)
		}
		seen[a.Key] = a.line
	}
	// Every combination of the grid axes (the first slowest), each with
	// every zip row.
	combos := [][]Setting{nil}
	for _, a := range gridAxes {
		var next [][]Setting
		for _, c := range combos {
			for _, v := range a.Values {
				next = append(next, append(append([]Setting(nil), c...), Setting{Key: a.Key, Value: v, line: a.line}))
			}
		}
		combos = next
	}
	for _, c := range combos {
		for r := range rows {
			settings := append([]Setting(nil), c...)
			for _, a := range zipAxes {
				settings = append(settings, Setting{Key: a.Key, Value: a.Values[r], line: a.line})
			}
			p.Points = append(p.Points, Point{Index: len(p.Points), Settings: settings})
		}
	}
	if len(p.Points) > 100000 {
		return nil, fmt.Errorf("%s: %d points: more than 100000", source, len(p.Points))
	}
	for _, pt := range p.Points {
		cfg, err := Apply(base, append(append([]Setting(nil), p.Fixed...), pt.Settings...), source)
		if err != nil {
			return nil, err
		}
		p.Configs = append(p.Configs, cfg)
	}
	return p, nil
}

// baseConfig reads the base: a config file when it looks like a path,
// else a shipped config.
func (f *File) baseConfig() (train.Config, error) {
	b := f.Base
	if strings.HasSuffix(b, ".yaml") || strings.HasSuffix(b, ".yml") || strings.ContainsRune(b, '/') {
		if !filepath.IsAbs(b) {
			b = filepath.Join(f.dir, b)
		}
		cfg, err := train.ReadConfig(b)
		if err != nil {
			return cfg, fmt.Errorf("%s: base: %w", f.source, err)
		}
		return cfg, nil
	}
	cfg, err := train.ShippedConfig(b)
	if err != nil {
		return cfg, fmt.Errorf("%s: base: %w", f.source, err)
	}
	return cfg, nil
}

// settings reads a mapping of key: value.
func (f *File) settings(n *yaml.Node, what string) ([]Setting, error) {
	if n.Kind == 0 {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: %s: a mapping of config keys to values", f.source, n.Line, what)
	}
	var out []Setting
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, Setting{Key: n.Content[i].Value, Value: n.Content[i+1], line: n.Content[i].Line})
	}
	return out, nil
}

// axes reads a mapping of key: [values].
func (f *File) axes(n *yaml.Node, what string) ([]Axis, error) {
	if n.Kind == 0 {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: %s: a mapping of config keys to lists of values", f.source, n.Line, what)
	}
	var out []Axis
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
			return nil, fmt.Errorf("%s:%d: %s key %q: a non-empty list of values, got %s", f.source, k.Line, what, k.Value, nodeText(v))
		}
		out = append(out, Axis{Key: k.Value, Values: v.Content, line: k.Line})
	}
	return out, nil
}

// Apply returns base with the settings applied: each key is a path into
// the config's YAML (see File); the result is read back as strictly as a
// config file. source names the sweep file in errors, which give its line
// and the key.
func Apply(base train.Config, settings []Setting, source string) (train.Config, error) {
	data, err := base.YAML()
	if err != nil {
		return base, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return base, fmt.Errorf("re-reading the base config: %w", err)
	}
	for _, s := range settings {
		if err := set(doc.Content[0], s.Key, s.Value); err != nil {
			return base, fmt.Errorf("%s:%d: key %q: %w", source, s.line, s.Key, err)
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return base, fmt.Errorf("encoding a point's config: %w", err)
	}
	cfg, err := train.ParseConfig(out, "point")
	if err != nil {
		var desc []string
		for _, s := range settings {
			desc = append(desc, s.Key+"="+s.Text())
		}
		// "point:LINE: what" -> "what": the line is of the generated file.
		var msgs []string
		for _, m := range strings.Split(err.Error(), "\n") {
			if rest, ok := strings.CutPrefix(m, "point:"); ok {
				if i := strings.Index(rest, ": "); i >= 0 {
					rest = rest[i+2:]
				}
				m = rest
			}
			msgs = append(msgs, m)
		}
		line := 0
		if len(settings) > 0 {
			line = settings[len(settings)-1].line
			// Name the setting the error is about, when it names one.
			for _, s := range settings {
				last := s.Key[strings.LastIndexAny(s.Key, ".]")+1:]
				if strings.Contains(msgs[0], strconv.Quote(last)) || strings.Contains(msgs[0], "."+last+":") || strings.HasPrefix(msgs[0], last+":") {
					line = s.line
				}
			}
		}
		return base, fmt.Errorf("%s:%d: the point %s is not a valid config: %s", source, line, strings.Join(desc, ", "), strings.Join(msgs, "; "))
	}
	return cfg, nil
}

// set puts value at the key path in a YAML mapping.
func set(root *yaml.Node, key string, value *yaml.Node) error {
	steps, err := splitKey(key)
	if err != nil {
		return err
	}
	node, at := root, ""
	for i, st := range steps {
		last := i == len(steps)-1
		where := at
		if where == "" {
			where = "the top level"
		}
		var slot **yaml.Node
		switch {
		case node.Kind == yaml.MappingNode && st.index < 0:
			for j := 0; j+1 < len(node.Content); j += 2 {
				if node.Content[j].Value == st.name {
					slot = &node.Content[j+1]
				}
			}
			if slot == nil {
				if !last {
					return fmt.Errorf("the config has no key %q at %s (keys there: %s)", st.name, where, strings.Join(mappingKeys(node), ", "))
				}
				// A key the config may hold but left out (its zero value);
				// reading the point's config strictly rejects unknown ones.
				node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: st.name}, value)
				return checkKnown(root, st.name, where)
			}
			at = strings.TrimPrefix(at+"."+st.name, ".")
		case node.Kind == yaml.SequenceNode && st.index >= 0:
			if st.index >= len(node.Content) {
				return fmt.Errorf("%s has %d items, no [%d]", where, len(node.Content), st.index)
			}
			slot = &node.Content[st.index]
			at = fmt.Sprintf("%s[%d]", at, st.index)
		case node.Kind == yaml.SequenceNode:
			var names []string
			for j, item := range node.Content {
				if n := mappingValue(item, "name"); n != nil {
					names = append(names, n.Value)
					if n.Value == st.name {
						slot = &node.Content[j]
					}
				}
			}
			if slot == nil {
				return fmt.Errorf("%s has no item named %q (names: %s)", where, st.name, strings.Join(names, ", "))
			}
			at += "." + st.name
		case st.index >= 0:
			return fmt.Errorf("%s is not a list: no [%d]", where, st.index)
		default:
			return fmt.Errorf("%s is a single value: it has no key %q", where, st.name)
		}
		if last {
			*slot = value
			return nil
		}
		node = *slot
	}
	return nil
}

// checkKnown rejects a key that is not a config field: a config is read
// strictly, so an unknown key fails to parse, and the error is the key's.
func checkKnown(root *yaml.Node, name, where string) error {
	out, err := yaml.Marshal(root)
	if err != nil {
		return err
	}
	if _, err := train.ParseConfig(out, "point"); err != nil && strings.Contains(err.Error(), "unknown key "+strconv.Quote(name)) {
		return fmt.Errorf("%q is not a config key at %s", name, where)
	}
	return nil
}

// step is one step of a key path: a name (a mapping key, or the name of
// an item of a list) or an index [i].
type step struct {
	name  string
	index int // -1 for a name
}

// splitKey splits "a.b[2].c" into the steps a, b, [2], c.
func splitKey(key string) ([]step, error) {
	if key == "" {
		return nil, errors.New("an empty key")
	}
	var steps []step
	for _, f := range strings.Split(key, ".") {
		name, rest, _ := strings.Cut(f, "[")
		if name == "" && (rest == "" || len(steps) == 0) {
			return nil, fmt.Errorf("an empty part in %q", key)
		}
		if name != "" {
			steps = append(steps, step{name: name, index: -1})
		}
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			n, err := strconv.Atoi(num)
			if !ok || err != nil || n < 0 || (after != "" && after[0] != '[') {
				return nil, fmt.Errorf("bad index in %q", f)
			}
			steps = append(steps, step{index: n})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return steps, nil
}

func mappingKeys(n *yaml.Node) []string {
	var keys []string
	for j := 0; j+1 < len(n.Content); j += 2 {
		keys = append(keys, n.Content[j].Value)
	}
	return keys
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == key {
			return n.Content[j+1]
		}
	}
	return nil
}

// nodeText writes a YAML value on one line.
func nodeText(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	c := *n
	c.Style = yaml.FlowStyle
	out, err := yaml.Marshal(&c)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}
