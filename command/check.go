package command

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"roster/lab/checker"
	"roster/peer/hostsfile"
)

func checkCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "check",
		Usage:     "judge view and group logs: agreement, order, validity, completeness, accuracy, convergence, and latencies",
		ArgsUsage: "[FILE...] | --compose FILE [-p PROJECT]",
		Description: "Reads view logs (plain lines, `docker compose logs` or `docker-compose logs`, with or without -t,\n" +
			"or the lab runner's output) from the files, or from stdin when there are none or FILE is -.\n" +
			"Group lines printed by roster client are judged too (group agreement, validity, accuracy,\n" +
			"completeness). Other lines are ignored. Prints one row per property and, when the\n" +
			"logs carry timestamps, join, crash-to-removal and leader failover latencies.\n" +
			"With --compose, reads a compose project's logs itself (`docker compose logs -t`, or docker-compose v1)\n" +
			"and each container's state from the engine (docker inspect), so that kills (exit 137, or not running),\n" +
			"pauses, network disconnects and restarts made outside roster are judged without --killed or\n" +
			"--expect-removals; the hostsfile defaults to hostsfile.txt beside the compose file.\n" +
			"Exit status: 0 every property held, 1 a property was violated, 2 the logs could not be judged\n" +
			"(no view or group lines).",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "hostsfile", Usage: "map container names to peer ids with the hostsfile `FILE` (a container that printed no view still counts as started)"},
			&ucli.BoolFlag{Name: "json", Usage: "print the report as JSON instead of a table"},
			&ucli.StringFlag{Name: "html", Usage: "also write a self-contained HTML page with a space-time diagram to `FILE`"},
			&ucli.StringFlag{Name: "killed", Usage: "peers the run killed from outside and left down, a `LIST` of ids or hostsfile names such as 3,4"},
			&ucli.StringFlag{Name: "expect-removals", Usage: "peers that may rightly be removed while alive (a partitioned minority), a `LIST` such as 4,5"},
			&ucli.StringFlag{Name: "compose", Usage: "read the logs and the containers' state of the compose project of `FILE` from Docker"},
			&ucli.StringFlag{Name: "project", Aliases: []string{"p"}, Usage: "with --compose, the compose project `NAME` (as given to up -p)"},
			&ucli.StringFlag{Name: "killed-clients", Usage: "clients the run killed from outside and left down, a `LIST` of client ids"},
			&ucli.StringFlag{Name: "expect-client-removals", Usage: "clients that may rightly be removed while alive, a `LIST` of client ids"},
			&ucli.DurationFlag{Name: "client-deadline", Usage: "with timestamps, the longest a crashed client may take to leave every live watcher's view, e.g. 16s (interval × misses + 1 s)"},
		},
		Action: runCheck,
	}
}

func runCheck(c *ucli.Context) error {
	var opts checker.Options
	var hf *hostsfile.File
	compose := c.String("compose")
	if compose == "" && c.String("project") != "" {
		return usageErr("check: --project needs --compose")
	}
	if compose != "" && c.Args().Len() > 0 {
		return usageErr("check: --compose reads the logs from Docker: give no FILE")
	}
	path := c.String("hostsfile")
	if beside := filepath.Join(filepath.Dir(compose), "hostsfile.txt"); path == "" && compose != "" && fileExists(beside) {
		path = beside
	}
	if path != "" {
		var err error
		if hf, err = hostsfile.Load(path); err != nil {
			return usageErr("check: %v", err)
		}
		opts.Hostsfile = map[string]int{}
		for _, p := range hf.Peers {
			opts.Hostsfile[p.Name] = p.ID
		}
	}
	var err error
	if opts.Killed, err = peerList(c.String("killed"), hf); err != nil {
		return usageErr("check: --killed: %v", err)
	}
	if opts.ExpectRemovals, err = peerList(c.String("expect-removals"), hf); err != nil {
		return usageErr("check: --expect-removals: %v", err)
	}

	opts.Clients.Killed = splitList(c.String("killed-clients"))
	opts.Clients.ExpectRemovals = splitList(c.String("expect-client-removals"))
	if opts.Clients.Deadline = c.Duration("client-deadline"); opts.Clients.Deadline < 0 {
		return usageErr("check: --client-deadline %v: must not be negative", opts.Clients.Deadline)
	}

	var srcs []checker.Source
	var containers []checker.Container
	if compose != "" {
		logs, cs, err := checker.Compose{File: compose, Project: c.String("project")}.Read(c.Context)
		if err != nil {
			return usageErr("check: %v", err)
		}
		srcs, containers = []checker.Source{{Name: "compose logs", R: bytes.NewReader(logs)}}, cs
	} else {
		var closeAll func()
		srcs, closeAll, err = openSources(c.Args().Slice(), c.App.Reader)
		defer closeAll()
		if err != nil {
			return usageErr("check: %v", err)
		}
	}
	run, err := checker.Read(srcs, opts)
	if err != nil {
		return usageErr("check: %v", err)
	}
	if containers != nil {
		opts.Engine = checker.ApplyContainers(&opts, run, containers)
	}
	rep := checker.Check(run, opts)

	if path := c.String("html"); path != "" {
		if err := writeHTMLFile(path, run, rep); err != nil {
			return usageErr("check: cannot write %s: %v", path, err)
		}
	}
	out := c.App.Writer
	if c.Bool("json") {
		err = rep.WriteJSON(out)
	} else {
		err = rep.WriteText(out)
	}
	if err != nil {
		return usageErr("check: cannot write the report: %v", err)
	}
	if st := rep.Status(); st != ExitOK {
		return ucli.Exit("", st)
	}
	return nil
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// openSources opens the named files; none, or "-", means stdin.
func openSources(args []string, stdin io.Reader) ([]checker.Source, func(), error) {
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	if len(args) == 0 {
		args = []string{"-"}
	}
	var srcs []checker.Source
	for _, name := range args {
		if name == "-" {
			if stdin == nil {
				stdin = os.Stdin
			}
			srcs = append(srcs, checker.Source{Name: "stdin", R: stdin})
			continue
		}
		f, err := os.Open(name)
		if err == nil {
			var st os.FileInfo
			if st, err = f.Stat(); err == nil && st.IsDir() {
				err = fmt.Errorf("is a directory")
			}
			files = append(files, f)
		}
		if err != nil {
			if pe, ok := err.(*os.PathError); ok {
				err = pe.Err
			}
			return nil, closeAll, fmt.Errorf("cannot read %s: %w", name, err)
		}
		srcs = append(srcs, checker.Source{Name: name, R: f})
	}
	return srcs, closeAll, nil
}

// splitList splits "c1,c2" or "c1 c2".
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// peerList parses "3,4" or "three,four" (names need a hostsfile).
func peerList(s string, hf *hostsfile.File) ([]int, error) {
	var out []int
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if n, err := strconv.Atoi(item); err == nil && n > 0 {
			out = append(out, n)
			continue
		}
		if hf == nil {
			return nil, fmt.Errorf("%q is not a peer id (names need --hostsfile)", item)
		}
		id, ok := hf.ID(item)
		if !ok {
			return nil, fmt.Errorf("%q is not a peer id or a name in %s", item, hf.Path)
		}
		out = append(out, id)
	}
	return out, nil
}

func writeHTMLFile(path string, run *checker.Run, rep *checker.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := checker.WriteHTML(f, run, rep); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
