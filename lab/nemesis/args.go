package nemesis

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is what `roster nemesis` was asked to do. A plain value.
type Config struct {
	// Hostsfile is -h: peer names and ids ("" for none).
	Hostsfile string
	// APIPort is --api-port, the peers' API port when the hostsfile says
	// where they are (DefaultAPIPort when 0).
	APIPort int
	// Peers is --peers, in the ParsePeers form ("" for none).
	Peers string
	// Retry is --retry: how long a step keeps trying a peer (DefaultRetry when 0).
	Retry time.Duration
	// DryRun is --dry-run: print the schedule and the peers, do nothing.
	DryRun bool
	// Help is --help.
	Help bool
	// Steps is the schedule.
	Steps []Step
}

// ParseArgs reads `roster nemesis` arguments: options first (-h FILE,
// --api-port N, --peers LIST, --retry D, --dry-run, --help; "--opt=value"
// works too), then the steps (ParseSchedule). Errors name the argument.
func ParseArgs(args []string) (Config, error) {
	var c Config
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--at" || a == "-at" || strings.HasPrefix(a, "--at=") {
			break
		}
		name, val, hasVal := strings.Cut(a, "=")
		value := func() (string, error) {
			if hasVal {
				i++
				return val, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs a value", name)
			}
			i += 2
			return args[i-1], nil
		}
		var err error
		var v string
		switch name {
		case "-h", "--hostsfile":
			c.Hostsfile, err = value()
		case "--api-port":
			if v, err = value(); err == nil {
				c.APIPort, err = strconv.Atoi(v)
				if err != nil || c.APIPort < 1 || c.APIPort > 65535 {
					err = fmt.Errorf("--api-port %q: want a port number", v)
				}
			}
		case "--peers":
			c.Peers, err = value()
		case "--retry":
			if v, err = value(); err == nil {
				c.Retry, err = time.ParseDuration(v)
				if err != nil || c.Retry <= 0 {
					err = fmt.Errorf("--retry %q: want a positive duration like 3s", v)
				}
			}
		case "--dry-run", "--help", "-help":
			if hasVal {
				return c, fmt.Errorf("%s takes no value", name)
			}
			if name == "--dry-run" {
				c.DryRun = true
			} else {
				c.Help = true
			}
			i++
		default:
			if strings.HasPrefix(a, "-") {
				return c, fmt.Errorf("unknown option %q", a)
			}
			return c, fmt.Errorf("%q: a step starts with --at TIME, like --at 15s heal", a)
		}
		if err != nil {
			return c, err
		}
	}
	if c.Help {
		return c, nil
	}
	steps, err := ParseSchedule(args[i:])
	if err != nil {
		return c, err
	}
	if len(steps) == 0 {
		return c, fmt.Errorf("no steps: give at least one, like --at 15s partition 1,2/3,4,5")
	}
	c.Steps = steps
	return c, nil
}
