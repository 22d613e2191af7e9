package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"roster/peer/checker"
)

// Exit statuses of Up, as the command line's.
const (
	upOK      = 0
	upFailure = 1
	upUsage   = 2
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
// duration ends or SIGINT/SIGTERM arrives, judges the collected log with the
// checker, prints the verdict, and returns the exit status: 2 for bad input,
// 1 when a peer failed unexpectedly, else the checker's status. Messages are
// one line on stderr. Up installs signal handlers for its duration; run one
// Up at a time per process.
func Up(ctx context.Context, cfg UpConfig, stdout, stderr io.Writer) int {
	errorf := func(status int, format string, a ...any) int {
		fmt.Fprintf(stderr, "roster lab up: "+format+"\n", a...)
		return status
	}
	if cfg.File == "" {
		return errorf(upUsage, "no compose file: give -f FILE")
	}
	if cfg.Duration < 0 {
		return errorf(upUsage, "--duration %v: must be positive", cfg.Duration)
	}
	sc, err := Load(ctx, cfg.File)
	if err != nil {
		return errorf(upUsage, "%v", err)
	}
	if cfg.Duration > 0 {
		sc.Duration = cfg.Duration
	}
	if sc.Duration <= 0 {
		return errorf(upUsage, "compose file %s has no x-roster duration: give --duration, e.g. --duration 20s", cfg.File)
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
			return errorf(upUsage, "--log %s: %v", cfg.LogPath, pathErr(err))
		}
		defer logFile.Close()
		opts.LogFile = logFile
	}
	var htmlFile *os.File
	if cfg.HTMLPath != "" {
		if htmlFile, err = os.Create(cfg.HTMLPath); err != nil {
			return errorf(upUsage, "--html %s: %v", cfg.HTMLPath, pathErr(err))
		}
		defer htmlFile.Close()
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := Run(ctx, sc, opts)
	var ie *InputError
	if errors.As(err, &ie) {
		return errorf(upUsage, "%v", err)
	}
	if res == nil {
		return errorf(upFailure, "%v", err)
	}
	status := upOK
	if err != nil {
		fmt.Fprintf(stderr, "roster lab up: %v\n", err)
		status = upFailure
	}
	if res.Interrupted {
		fmt.Fprintf(stderr, "lab: interrupted after %v; every peer stopped\n", res.Elapsed.Round(time.Millisecond))
	}
	if cfg.KeepRunDir {
		fmt.Fprintf(stderr, "lab: run directory kept: %s\n", res.RunDir)
	}

	expect, err := res.ids(sc.ExpectRemovals)
	if err != nil {
		return errorf(upUsage, "compose file %s: %v", cfg.File, err)
	}
	v, err := Judge(res, checker.Options{ExpectRemovals: expect})
	if err != nil {
		return errorf(upFailure, "%v", err)
	}
	if cfg.JSON {
		if err := writeUpJSON(stdout, res, v); err != nil {
			return errorf(upFailure, "%v", err)
		}
	} else {
		fmt.Fprintln(stdout)
		if err := v.Report.WriteText(stdout); err != nil {
			return errorf(upFailure, "%v", err)
		}
	}
	if htmlFile != nil {
		if err := v.WriteHTML(htmlFile); err != nil {
			fmt.Fprintf(stderr, "roster lab up: --html %s: %v\n", cfg.HTMLPath, err)
			status = upFailure
		}
	}
	for _, f := range res.Failures {
		fmt.Fprintln(stderr, f)
	}
	switch {
	case res.Status != 0:
		return upFailure
	case status != upOK:
		return status
	}
	return v.Status()
}

func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
