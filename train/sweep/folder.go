package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gosnn/gosnn/train"
)

// A sweep folder holds:
//
//	sweep.yaml                 the sweep file as given
//	base.yaml                  its base config
//	points.json                the points: index, folder, swept values
//	points/NNNN/config.yaml    each point's config
//	points/NNNN/state.json     its state (written by whoever runs it)
//	points/NNNN/log.txt        the output of its gosnn processes
//	points/NNNN/<name>_<ts>/   its results folder (gosnn train --out points/NNNN)
//	results.csv                gosnn sweep collect
//	plots/                     gosnn sweep plot
//	slurm.sh, slurm/           gosnn sweep slurm: the array script, its logs
const (
	manifestFile = "points.json"
	pointsDir    = "points"
	stateFile    = "state.json"
	logFile      = "log.txt"
)

// Manifest is points.json: what every point sets.
type Manifest struct {
	Name    string          `json:"name"`
	Created time.Time       `json:"created"`
	Keys    []string        `json:"keys"` // the swept keys, in axis order
	Points  []ManifestPoint `json:"points"`
}

// ManifestPoint is one point: its folder (relative to the sweep folder)
// and the swept keys' values as written in YAML, in Keys order.
type ManifestPoint struct {
	Index  int      `json:"index"`
	Dir    string   `json:"dir"`
	Values []string `json:"values"`
}

// Sweep is a sweep folder.
type Sweep struct {
	Dir      string
	Manifest Manifest
}

// Create makes a new sweep folder <out>/<name>_<timestamp> holding the
// sweep file (its text, as given), the base config and every point's
// config.
func Create(plan *Plan, sweepText []byte, out string, now time.Time) (*Sweep, error) {
	dir, err := train.NewRunDir(out, plan.File.Name, now)
	if err != nil {
		return nil, fmt.Errorf("sweep folder: %w", err)
	}
	s := &Sweep{Dir: dir, Manifest: Manifest{Name: plan.File.Name, Created: now.UTC()}}
	for _, a := range plan.Axes {
		s.Manifest.Keys = append(s.Manifest.Keys, a.Key)
	}
	if err := train.WriteFileAtomic(filepath.Join(dir, "sweep.yaml"), sweepText); err != nil {
		return nil, err
	}
	base, err := plan.Base.YAML()
	if err != nil {
		return nil, err
	}
	if err := train.WriteFileAtomic(filepath.Join(dir, "base.yaml"), base); err != nil {
		return nil, err
	}
	for i, pt := range plan.Points {
		rel := filepath.Join(pointsDir, fmt.Sprintf("%04d", i))
		if err := os.MkdirAll(filepath.Join(dir, rel), 0o755); err != nil {
			return nil, fmt.Errorf("sweep folder: %w", err)
		}
		yml, err := plan.Configs[i].YAML()
		if err != nil {
			return nil, err
		}
		if err := train.WriteFileAtomic(filepath.Join(dir, rel, "config.yaml"), yml); err != nil {
			return nil, err
		}
		mp := ManifestPoint{Index: i, Dir: rel}
		for _, st := range pt.Settings {
			mp.Values = append(mp.Values, st.Text())
		}
		s.Manifest.Points = append(s.Manifest.Points, mp)
	}
	if err := train.WriteJSON(filepath.Join(dir, manifestFile), s.Manifest); err != nil {
		return nil, err
	}
	return s, nil
}

// Open reads a sweep folder.
func Open(dir string) (*Sweep, error) {
	data, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return nil, fmt.Errorf("%s is not a sweep folder (no readable %s): %w", dir, manifestFile, err)
	}
	s := &Sweep{Dir: dir}
	if err := json.Unmarshal(data, &s.Manifest); err != nil {
		return nil, fmt.Errorf("%s: %s is corrupted: %w", dir, manifestFile, err)
	}
	for i, p := range s.Manifest.Points {
		if p.Index != i || len(p.Values) != len(s.Manifest.Keys) || p.Dir == "" {
			return nil, fmt.Errorf("%s: %s: point %d is corrupted", dir, manifestFile, i)
		}
	}
	return s, nil
}

// PointDir is the folder of point i.
func (s *Sweep) PointDir(i int) string { return filepath.Join(s.Dir, s.Manifest.Points[i].Dir) }

// The states of a point.
const (
	Pending     = "pending"     // never started
	Running     = "running"     // a process is at it
	Done        = "done"        // its run finished; summary.json holds the results
	Failed      = "failed"      // its process stopped with an error (Error is the last line it wrote)
	Interrupted = "interrupted" // stopped by the sweep's interrupt, or its process died (killed, machine down)
)

// State is a point's state.json.
type State struct {
	State      string    `json:"state"`
	Error      string    `json:"error,omitempty"`
	Host       string    `json:"host,omitempty"`
	PID        int       `json:"pid,omitempty"`
	Job        string    `json:"job,omitempty"` // Slurm job and array task, when run by Slurm
	Attempts   int       `json:"attempts"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	RunDir     string    `json:"run_dir,omitempty"` // relative to the point's folder
}

// PointState reads the state of point i: pending when nothing ran it;
// a point marked running on this machine whose process is gone is
// interrupted (a killed sweep); a point is done only when its results
// folder's summary.json says finished.
func (s *Sweep) PointState(i int) (State, error) {
	dir := s.PointDir(i)
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return State{State: Pending}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("point %d: %w", i, err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, fmt.Errorf("point %d: %s is corrupted: %w", i, filepath.Join(dir, stateFile), err)
	}
	host, _ := os.Hostname()
	if st.State == Running && st.Host == host && st.Job == "" && !alive(st.PID) {
		st.State = Interrupted
		st.Error = fmt.Sprintf("its process %d is gone (the sweep was killed)", st.PID)
	}
	if st.State == Done {
		if _, err := s.Summary(i, st); err != nil {
			st.State, st.Error = Failed, err.Error()
		}
	}
	return st, nil
}

// Summary reads the summary.json of a done point's results folder.
func (s *Sweep) Summary(i int, st State) (*train.Summary, error) {
	if st.RunDir == "" {
		return nil, fmt.Errorf("point %d has no results folder", i)
	}
	path := filepath.Join(s.PointDir(i), st.RunDir, "summary.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("point %d: %w", i, err)
	}
	var sum train.Summary
	if err := json.Unmarshal(data, &sum); err != nil {
		return nil, fmt.Errorf("point %d: %s is corrupted: %w", i, path, err)
	}
	if sum.Status != "finished" {
		return &sum, fmt.Errorf("point %d: %s says %q", i, path, sum.Status)
	}
	return &sum, nil
}

// writeState writes a point's state.json atomically.
func (s *Sweep) writeState(i int, st State) error {
	return train.WriteJSON(filepath.Join(s.PointDir(i), stateFile), st)
}

// runDirs lists the results folders inside a point's folder.
func runDirs(pointDir string) ([]string, error) {
	entries, err := os.ReadDir(pointDir)
	if err != nil {
		return nil, fmt.Errorf("point folder: %w", err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			if _, err := os.Stat(filepath.Join(pointDir, e.Name(), "config.yaml")); err == nil {
				dirs = append(dirs, e.Name())
			}
		}
	}
	slices.Sort(dirs)
	return dirs, nil
}

// alive reports whether a process of this machine exists.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	// A killed sweep's children may linger as zombies where nothing reaps
	// orphans (PID 1 of a container): on Linux, /proc tells them apart.
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
			return stat[i+2] != 'Z' && stat[i+2] != 'X'
		}
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}
