package train

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
)

// CheckpointsDir is the folder of a results folder that holds its
// checkpoints, one sub-folder epoch-NNNN per saved epoch.
const CheckpointsDir = "checkpoints"

// manifestName is the file of a checkpoint folder that lists what the
// checkpoint holds and the SHA-256 of every file, so that a truncated or
// corrupted checkpoint is detected before anything is loaded.
const manifestName = "manifest.json"

// Manifest describes one checkpoint: the epochs trained, the metrics of
// those epochs (a continued run starts from them), the variables and the
// checksums of the files GoMLX's checkpoints package wrote.
type Manifest struct {
	Epoch     int               `json:"epoch"`
	History   []EpochMetrics    `json:"history"`
	Variables []ManifestVar     `json:"variables"`
	Files     map[string]string `json:"files"` // file name -> "sha256:<hex> size:<bytes>"
	Backend   string            `json:"backend"`
	Versions  Versions          `json:"versions"`
}

// ManifestVar is one saved variable.
type ManifestVar struct {
	Name  string `json:"name"`
	Shape string `json:"shape"`
}

// CheckpointDir is the folder of the checkpoint of an epoch.
func CheckpointDir(runDir string, epoch int) string {
	return filepath.Join(runDir, CheckpointsDir, fmt.Sprintf("epoch-%04d", epoch))
}

// SaveCheckpoint writes the trainer's variables (weights, optimizer state,
// weight-bumping state, random number generator) after `epoch` epochs,
// with their history, to runDir/checkpoints/epoch-NNNN, atomically: the
// files are written into a temporary folder, synced, and the folder is
// renamed into place; a reader (or a continued run after a kill) sees the
// whole checkpoint or none. keep lists the epochs whose checkpoints stay;
// of the others only the newest (this one) is kept.
func SaveCheckpoint(t *Trainer, runDir string, epoch int, history []EpochMetrics, backend string, keep []int) error {
	if err := writeCheckpoint(t, CheckpointDir(runDir, epoch), epoch, history, backend, func() { crashPoint("checkpoint", epoch) }); err != nil {
		return err
	}
	return pruneCheckpoints(runDir, epoch, keep)
}

// BestValCheckpoint is the checkpoint folder (under CheckpointsDir) with
// the weights of the epoch of the best validation accuracy so far (issue
// 17): `gosnn inference RUN_DIR best-val` evaluates it, `--keep best-val`
// reports it. Its name does not start with "epoch-", so ListCheckpoints
// and the pruning of epoch checkpoints leave it alone.
const BestValCheckpoint = "best-val"

// BestValDir is the folder of a run's best-validation checkpoint.
func BestValDir(runDir string) string {
	return filepath.Join(runDir, CheckpointsDir, BestValCheckpoint)
}

// SaveBestCheckpoint writes the trainer's variables, which must be those
// after the epoch of the best validation accuracy, as the run's
// best-validation checkpoint (BestValDir), atomically as SaveCheckpoint
// does, replacing the previous one.
func SaveBestCheckpoint(t *Trainer, runDir string, epoch int, history []EpochMetrics, backend string) error {
	return writeCheckpoint(t, BestValDir(runDir), epoch, history, backend, func() {})
}

// writeCheckpoint writes one checkpoint folder atomically; beforeRename
// runs once the files are complete, before the folder is renamed into
// place.
func writeCheckpoint(t *Trainer, final string, epoch int, history []EpochMetrics, backend string, beforeRename func()) error {
	root := filepath.Dir(final)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	tmp, err := os.MkdirTemp(root, ".tmp-"+filepath.Base(final)+"-")
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", final, err)
	}
	defer func() { _ = os.RemoveAll(tmp) }() // no-op after the rename
	// A copy of the variables in a context of its own, so that GoMLX's
	// handler (which attaches itself to the context it saves) leaves the
	// trainer's context alone.
	copyCtx := mlctx.New().Checked(false)
	var vars []ManifestVar
	for v := range t.ctx.IterVariables() {
		value, err := v.Value()
		if err != nil {
			return fmt.Errorf("checkpoint: reading %s: %w", v.ScopeAndName(), err)
		}
		local, err := value.LocalClone()
		if err != nil {
			return fmt.Errorf("checkpoint: copying %s: %w", v.ScopeAndName(), err)
		}
		copyCtx.InAbsPath(v.Scope()).VariableWithValue(v.Name(), local)
		vars = append(vars, ManifestVar{Name: v.ScopeAndName(), Shape: local.Shape().String()})
	}
	sort.Slice(vars, func(i, j int) bool { return vars[i].Name < vars[j].Name })
	h, err := checkpoints.Build(copyCtx).Dir(tmp).Keep(-1).WithCompression(checkpoints.BinUncompressed).ExcludeAllParams().Done()
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", final, err)
	}
	if err := h.Save(); err != nil {
		return fmt.Errorf("checkpoint %s: %w", final, err)
	}
	m := Manifest{Epoch: epoch, History: history, Variables: vars, Files: map[string]string{}, Backend: backend, Versions: CurrentVersions()}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", final, err)
	}
	for _, e := range entries {
		path := filepath.Join(tmp, e.Name())
		sum, err := fileDigest(path)
		if err != nil {
			return fmt.Errorf("checkpoint %s: %w", final, err)
		}
		if err := syncAndShare(path); err != nil {
			return fmt.Errorf("checkpoint %s: %w", final, err)
		}
		m.Files[e.Name()] = sum
	}
	if err := WriteJSON(filepath.Join(tmp, manifestName), m); err != nil {
		return fmt.Errorf("checkpoint %s: %w", final, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("checkpoint %s: %w", final, err)
	}
	beforeRename()
	// Replace an older checkpoint of the same epoch (a run continued from
	// an earlier save point) by moving it aside first.
	if _, err := os.Stat(final); err == nil {
		old := final + ".old"
		_ = os.RemoveAll(old)
		if err := os.Rename(final, old); err != nil {
			return fmt.Errorf("checkpoint %s: %w", final, err)
		}
		defer func() { _ = os.RemoveAll(old) }()
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("checkpoint %s: %w", final, err)
	}
	if err := syncDir(root); err != nil {
		return fmt.Errorf("checkpoint %s: %w", final, err)
	}
	return nil
}

// pruneCheckpoints removes the checkpoints that are neither save points nor
// the newest.
func pruneCheckpoints(runDir string, newest int, keep []int) error {
	epochs, err := ListCheckpoints(runDir)
	if err != nil {
		return err
	}
	// Temporary folders of saves that a killed process left behind.
	leftovers, _ := filepath.Glob(filepath.Join(runDir, CheckpointsDir, ".tmp-*"))
	olds, _ := filepath.Glob(filepath.Join(runDir, CheckpointsDir, "*.old"))
	for _, dir := range append(leftovers, olds...) {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("removing the leftover %s: %w", dir, err)
		}
	}
	for _, e := range epochs {
		if e != newest && !slices.Contains(keep, e) {
			if err := os.RemoveAll(CheckpointDir(runDir, e)); err != nil {
				return fmt.Errorf("removing an old checkpoint: %w", err)
			}
		}
	}
	return nil
}

// ListCheckpoints returns the epochs with a complete checkpoint in runDir,
// in increasing order (temporary folders of interrupted saves are
// ignored).
func ListCheckpoints(runDir string) ([]int, error) {
	entries, err := os.ReadDir(filepath.Join(runDir, CheckpointsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing checkpoints: %w", err)
	}
	var epochs []int
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "epoch-")
		if !ok || !e.IsDir() {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil {
			epochs = append(epochs, n)
		}
	}
	slices.Sort(epochs)
	return epochs, nil
}

// Checkpoint is a verified checkpoint read from disk.
type Checkpoint struct {
	Dir      string
	Manifest Manifest
	values   map[string]*tensors.Tensor // by ScopeAndName
}

// ReadCheckpoint reads and verifies a checkpoint folder: the manifest must
// parse, every file it lists must exist with its size and SHA-256, and
// GoMLX's reader must read every variable it lists. Errors name the folder
// and what is wrong.
func ReadCheckpoint(dir string) (*Checkpoint, error) {
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: no readable %s (not a complete checkpoint): %w", dir, manifestName, err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %s is corrupted: %w", dir, manifestName, err)
	}
	if len(m.Files) == 0 || m.Epoch < 1 {
		return nil, fmt.Errorf("checkpoint %s: %s lists no files or no epoch: corrupted", dir, manifestName)
	}
	names := make([]string, 0, len(m.Files))
	for name := range m.Files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		want := m.Files[name]
		path := filepath.Join(dir, name)
		got, err := fileDigest(path)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: file %s is missing: %w", dir, name, err)
		}
		if got != want {
			if size(got) != size(want) {
				return nil, fmt.Errorf("checkpoint %s: file %s is truncated or extended: %s bytes, the manifest says %s", dir, name, size(got), size(want))
			}
			return nil, fmt.Errorf("checkpoint %s: file %s is corrupted: its SHA-256 differs from the manifest's", dir, name)
		}
	}
	loadCtx := mlctx.New().Checked(false)
	if _, err := checkpoints.Load(loadCtx).Dir(dir).Immediate().ExcludeAllParams().Done(); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	c := &Checkpoint{Dir: dir, Manifest: m, values: map[string]*tensors.Tensor{}}
	for v := range loadCtx.IterVariables() {
		value, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: variable %s: %w", dir, v.ScopeAndName(), err)
		}
		c.values[v.ScopeAndName()] = value
	}
	for _, mv := range m.Variables {
		value, ok := c.values[mv.Name]
		if !ok {
			return nil, fmt.Errorf("checkpoint %s: variable %s of the manifest is not in the checkpoint: corrupted", dir, mv.Name)
		}
		if value.Shape().String() != mv.Shape {
			return nil, fmt.Errorf("checkpoint %s: variable %s has shape %s, the manifest says %s: corrupted", dir, mv.Name, value.Shape(), mv.Shape)
		}
	}
	if len(c.values) != len(m.Variables) {
		return nil, fmt.Errorf("checkpoint %s: holds %d variables, the manifest lists %d: corrupted", dir, len(c.values), len(m.Variables))
	}
	return c, nil
}

// size extracts the size part of a digest string.
func size(digest string) string {
	_, s, _ := strings.Cut(digest, " size:")
	return s
}

// Restore sets the variables of a new trainer (one that has not run yet)
// to the checkpoint's. The trainer's graphs are built first, so that every
// variable the network needs exists; each must be in the checkpoint with
// the same shape and dtype, and the checkpoint may hold no other, or the
// error names the variables at fault and the trainer must not be used.
func (t *Trainer) Restore(c *Checkpoint) error {
	if err := t.buildGraphs(); err != nil {
		return err
	}
	var problems []string
	want := map[string]*mlctx.Variable{}
	for v := range t.ctx.IterVariables() {
		want[v.ScopeAndName()] = v
		value, ok := c.values[v.ScopeAndName()]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("variable %s %s is missing", v.ScopeAndName(), v.Shape()))
		case !value.Shape().Equal(v.Shape()):
			problems = append(problems, fmt.Sprintf("variable %s has shape %s, the network needs %s", v.ScopeAndName(), value.Shape(), v.Shape()))
		}
	}
	for name := range c.values {
		if want[name] == nil {
			problems = append(problems, fmt.Sprintf("variable %s is not part of this network", name))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("checkpoint %s does not fit the network of config %q: %s", c.Dir, t.cfg.Name, strings.Join(problems, "; "))
	}
	for name, v := range want {
		local, err := c.values[name].LocalClone()
		if err != nil {
			return fmt.Errorf("checkpoint %s: %w", c.Dir, err)
		}
		if err := v.SetValue(local); err != nil {
			return fmt.Errorf("checkpoint %s: setting %s: %w", c.Dir, name, err)
		}
	}
	return nil
}

// fileDigest returns "sha256:<hex> size:<bytes>" of a file.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)) + " size:" + strconv.FormatInt(n, 10), nil
}

// syncAndShare flushes a file to disk and makes it readable by others.
func syncAndShare(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chmod(path, 0o644)
}

// syncDir flushes a folder's entries (a rename into it) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}
