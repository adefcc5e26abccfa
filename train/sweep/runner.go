package sweep

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gosnn/gosnn/train"
)

// Runner runs the points of a sweep, each as a gosnn process of its own
// ("gosnn train points/NNNN/config.yaml --out points/NNNN", or "gosnn
// continue" of its results folder when an earlier attempt left a
// checkpoint), on a pool of Workers local workers.
type Runner struct {
	// Command is the gosnn executable and any leading arguments.
	Command []string
	// Env is added to the processes' environment.
	Env []string
	// Workers is the number of points run at once (default 1).
	Workers int
	// Job names the Slurm job and task running the points (recorded in
	// state.json; such points are never taken for dead by another machine).
	Job string
	// OnChange, when set, hears every state change (from the workers'
	// goroutines, one at a time).
	OnChange func(point int, st State)
	mu       sync.Mutex
}

// ToRun lists the points that are neither done nor running: pending,
// failed and interrupted ones.
func (s *Sweep) ToRun() ([]int, error) {
	var todo []int
	for i := range s.Manifest.Points {
		st, err := s.PointState(i)
		if err != nil {
			return nil, err
		}
		if st.State != Done && st.State != Running {
			todo = append(todo, i)
		}
	}
	return todo, nil
}

// Run runs the given points on the worker pool and returns when all have
// stopped. Cancelling ctx interrupts the running points' processes
// (SIGINT: each stops after its current batch, its last checkpoint stays)
// and starts no more; they are then interrupted and "gosnn sweep
// continue" resumes them from their checkpoints. The error lists the
// points that failed.
func (r *Runner) Run(ctx context.Context, s *Sweep, points []int) error {
	workers := max(r.Workers, 1)
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []string
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				st, err := r.RunPoint(ctx, s, i)
				if err != nil || st.State == Failed {
					msg := st.Error
					if err != nil {
						msg = err.Error()
					}
					mu.Lock()
					failed = append(failed, fmt.Sprintf("point %d: %s", i, msg))
					mu.Unlock()
				}
			}
		}()
	}
	for _, i := range points {
		if ctx.Err() != nil {
			break
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if len(failed) > 0 {
		return fmt.Errorf("%d point(s) failed:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	return ctx.Err()
}

func (r *Runner) changed(i int, st State) {
	if r.OnChange != nil {
		r.mu.Lock()
		r.OnChange(i, st)
		r.mu.Unlock()
	}
}

// RunPoint runs one point unless it is done or running: it continues the
// point's results folder from its newest checkpoint when there is one, and
// trains afresh otherwise (removing a results folder that never reached a
// checkpoint). The output goes to the point's log.txt; the state to its
// state.json.
func (r *Runner) RunPoint(ctx context.Context, s *Sweep, i int) (State, error) {
	st, err := s.PointState(i)
	if err != nil || st.State == Done || st.State == Running {
		return st, err
	}
	dir := s.PointDir(i)
	dirs, err := runDirs(dir)
	if err != nil {
		return st, err
	}
	args := []string{"train", filepath.Join(dir, "config.yaml"), "--out", dir, "--quiet"}
	for _, d := range dirs {
		epochs, err := train.ListCheckpoints(filepath.Join(dir, d))
		if err == nil && len(epochs) > 0 {
			args = []string{"continue", filepath.Join(dir, d), "--quiet"}
			break
		}
	}
	if args[0] == "train" {
		for _, d := range dirs {
			if err := os.RemoveAll(filepath.Join(dir, d)); err != nil {
				return st, fmt.Errorf("point %d: removing the unfinished %s: %w", i, d, err)
			}
		}
	}
	if len(r.Command) == 0 {
		return st, errors.New("sweep: no gosnn command to run")
	}
	log, err := os.OpenFile(filepath.Join(dir, logFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return st, fmt.Errorf("point %d: %w", i, err)
	}
	defer func() { _ = log.Close() }()
	fmt.Fprintf(log, "=== %s: %s %s\n", time.Now().UTC().Format(time.RFC3339), filepath.Base(r.Command[0]), strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, r.Command[0], append(r.Command[1:len(r.Command):len(r.Command)], args...)...)
	cmd.Env = append(os.Environ(), r.Env...)
	cmd.Stdout, cmd.Stderr = log, log
	// An interrupt lets gosnn stop after its current batch; a process
	// that does not stop within a minute is killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	host, _ := os.Hostname()
	st = State{State: Running, Host: host, Job: r.Job, Attempts: st.Attempts + 1, StartedAt: time.Now().UTC()}
	if err := cmd.Start(); err != nil {
		st.State, st.Error = Failed, err.Error()
		return st, s.writeState(i, st)
	}
	st.PID = cmd.Process.Pid
	if err := s.writeState(i, st); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return st, err
	}
	r.changed(i, st)
	runErr := cmd.Wait()
	st.FinishedAt = time.Now().UTC()
	st.PID = 0
	if dirs, err := runDirs(dir); err == nil && len(dirs) > 0 {
		st.RunDir = dirs[len(dirs)-1]
	}
	// The summary decides: a run that finished while the sweep was being
	// interrupted is done (Wait then reports the interrupt, not its exit).
	_, sumErr := s.Summary(i, st)
	switch {
	case sumErr == nil:
		st.State, st.Error = Done, ""
	case runErr == nil:
		st.State, st.Error = Failed, sumErr.Error()
	case ctx.Err() != nil:
		st.State, st.Error = Interrupted, lastLine(filepath.Join(dir, logFile))
	default:
		st.State, st.Error = Failed, lastLine(filepath.Join(dir, logFile))
		if st.Error == "" {
			st.Error = runErr.Error()
		}
	}
	if err := s.writeState(i, st); err != nil {
		return st, err
	}
	r.changed(i, st)
	return st, nil
}

// lastLine is the last non-empty line of a file (a failed gosnn's error).
func lastLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	last := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "===") {
			last = l
		}
	}
	return last
}
