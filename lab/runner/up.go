package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"roster/lab/checker"
)

// UpConfig is what `roster lab up` was asked to do.
type UpConfig struct {
	// File is the compose file.
	File string
	// Duration overrides the file's x-roster duration when positive.
	Duration time.Duration
	// Timestamps stamps the live output.
	Timestamps bool
	// LogPath, when set, receives the timestamped log.
	LogPath string
	// HTMLPath, when set, receives the checker's HTML report.
	HTMLPath string
	// JSON prints the result as JSON on stdout; the live output then goes to
	// stderr.
	JSON bool
	// Roster is the roster binary ("" for this executable).
	Roster string
	// KeepRunDir keeps the run directory and prints where it is.
	KeepRunDir bool
	// StopTimeout is the SIGTERM-to-SIGKILL wait at the end (0: the default).
	StopTimeout time.Duration
	// SharedLoopback puts every peer on 127.0.0.1 with distinct ports.
	SharedLoopback bool
}

// Up is `roster lab up`: it loads the compose file, runs it until its
// duration ends or ctx is done, judges the collected log with the checker
// and prints the verdict (text, or JSON with cfg.JSON) on stdout; the peers'
// output goes to stdout (stderr with cfg.JSON), notes to stderr. It returns
// the verdict and an error: an *InputError for bad input (nothing was run),
// a *RunError when the run went wrong (a peer failed unexpectedly, a file
// could not be written; the verdict is still returned when there is one).
// Otherwise the verdict's Status tells whether the properties held.
func Up(ctx context.Context, cfg UpConfig, stdout, stderr io.Writer) (*Verdict, error) {
	if cfg.File == "" {
		return nil, inputErr("no compose file: give -f FILE")
	}
	if cfg.Duration < 0 {
		return nil, inputErr("--duration %v: must be positive", cfg.Duration)
	}
	sc, err := Load(ctx, cfg.File)
	if err != nil {
		return nil, err
	}
	if cfg.Duration > 0 {
		sc.Duration = cfg.Duration
	}
	if sc.Duration <= 0 {
		return nil, inputErr("compose file %s has no x-roster duration: give --duration, e.g. --duration 20s", cfg.File)
	}

	opts := Options{
		Roster: cfg.Roster, Out: stdout, Timestamps: cfg.Timestamps, Diag: stderr,
		KeepRunDir: cfg.KeepRunDir, StopTimeout: cfg.StopTimeout, SharedLoopback: cfg.SharedLoopback,
	}
	if cfg.JSON {
		opts.Out = stderr
	}
	var logFile *os.File
	if cfg.LogPath != "" {
		if logFile, err = os.Create(cfg.LogPath); err != nil {
			return nil, inputErr("--log %s: %v", cfg.LogPath, pathErr(err))
		}
		defer logFile.Close()
		opts.LogFile = logFile
	}
	var htmlFile *os.File
	if cfg.HTMLPath != "" {
		if htmlFile, err = os.Create(cfg.HTMLPath); err != nil {
			return nil, inputErr("--html %s: %v", cfg.HTMLPath, pathErr(err))
		}
		defer htmlFile.Close()
	}

	res, err := Run(ctx, sc, opts)
	if res == nil {
		return nil, err
	}
	var failed []string
	if err != nil {
		failed = append(failed, err.Error())
	}
	if res.Interrupted {
		fmt.Fprintf(stderr, "interrupted after %v; every peer stopped\n", res.Elapsed.Round(time.Millisecond))
	}
	if cfg.KeepRunDir {
		fmt.Fprintf(stderr, "run directory kept: %s\n", res.RunDir)
	}

	expect, err := res.IDs(sc.ExpectRemovals)
	if err != nil {
		return nil, inputErr("compose file %s: %v", cfg.File, err)
	}
	v, err := Judge(res, checker.Options{ExpectRemovals: expect, Clients: sc.ClientOptions()})
	if err != nil {
		return nil, &RunError{Problems: append(failed, err.Error())}
	}
	if cfg.JSON {
		err = writeUpJSON(stdout, res, v)
	} else {
		fmt.Fprintln(stdout)
		err = v.Report.WriteText(stdout)
	}
	if err != nil {
		failed = append(failed, err.Error())
	}
	if htmlFile != nil {
		if err := v.WriteHTML(htmlFile); err != nil {
			failed = append(failed, fmt.Sprintf("--html %s: %v", cfg.HTMLPath, err))
		}
	}
	failed = append(failed, res.Failures...)
	if len(failed) > 0 || res.Status != 0 {
		return v, &RunError{Problems: failed}
	}
	return v, nil
}

func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
