package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	composecli "github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"
)

// ExtensionKey is the top-level compose extension that carries lab settings:
//
//	x-roster:
//	  duration: 20s              # how long the scenario runs
//	  expect_removals: [one, two] # live peers the scenario may remove
//	  client_deadline: 7s        # a crashed client leaves every watcher's view within this
//	  expect_client_removals: [c3] # live clients the scenario may remove
const ExtensionKey = "x-roster"

// Load reads the compose file at path (interpolating ${VAR:-default} from
// the environment and a .env file next to it) and returns its scenario.
// Fields that only matter to Docker (image, networks, container_name, ...)
// are ignored; the image need not exist. Duration comes from the x-roster
// extension and is 0 when the file has none. Errors are *InputError.
// Safe for concurrent use.
func Load(ctx context.Context, path string) (*Scenario, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, inputErr("compose file %s: %v", path, err)
	}
	raw, err := os.ReadFile(abs)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, inputErr("compose file %s: cannot read: %v", path, err)
	}
	dir := filepath.Dir(abs)
	opts, err := composecli.NewProjectOptions([]string{abs},
		composecli.WithName("roster-lab"),
		composecli.WithWorkingDirectory(dir),
		composecli.WithOsEnv,
		composecli.WithEnvFiles(),
		composecli.WithDotEnv,
		composecli.WithInterpolation(true),
	)
	if err != nil {
		return nil, inputErr("compose file %s: %v", path, err)
	}
	project, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, inputErr("compose file %s: %v", path, err)
	}
	if len(project.Services) == 0 {
		return nil, inputErr("compose file %s: no services", path)
	}
	sc := &Scenario{File: path, Dir: dir}
	if sc.Duration, err = extensionDuration(project.Extensions); err != nil {
		return nil, inputErr("compose file %s: %v", path, err)
	}
	if sc.ExpectRemovals, err = extensionRemovals(project.Extensions); err != nil {
		return nil, inputErr("compose file %s: %v", path, err)
	}
	if sc.ClientDeadline, err = extensionDurationKey(project.Extensions, "client_deadline"); err != nil {
		return nil, inputErr("compose file %s: %v", path, err)
	}
	if sc.ExpectClientRemovals, err = extensionStrings(project.Extensions, "expect_client_removals"); err != nil {
		return nil, inputErr("compose file %s: %v", path, err)
	}
	peers := map[string]string{}
	for _, name := range serviceOrder(raw, project.Services) {
		svc, err := loadService(project.Services[name])
		if err != nil {
			return nil, inputErr("compose file %s: %v", path, err)
		}
		if other, dup := peers[svc.Peer]; dup && !svc.Tool() {
			return nil, inputErr("compose file %s: services %s and %s both have the peer name %q", path, other, svc.Name, svc.Peer)
		}
		if !svc.Tool() {
			peers[svc.Peer] = svc.Name
		}
		sc.Services = append(sc.Services, svc)
	}
	for _, name := range sc.ExpectRemovals {
		if _, isID := strconv.Atoi(name); isID != nil && peers[name] == "" {
			return nil, inputErr("compose file %s: %s.expect_removals: no service runs a peer called %q", path, ExtensionKey, name)
		}
	}
	return sc, nil
}

func loadService(sc types.ServiceConfig) (Service, error) {
	s := Service{Name: sc.Name, Peer: sc.Name, Args: slices.Clone([]string(sc.Command))}
	if sc.Hostname != "" {
		s.Peer = sc.Hostname
	}
	// An image's entrypoint is roster; a command that names it is accepted too.
	if len(s.Args) > 0 && filepath.Base(s.Args[0]) == "roster" {
		s.Args = s.Args[1:]
	}
	for _, k := range slices.Sorted(maps.Keys(sc.Environment)) {
		if v := sc.Environment[k]; v != nil {
			s.Env = append(s.Env, k+"="+*v)
		}
	}
	var err error
	if s.Restart, err = ParseRestart(sc.Restart); err != nil {
		return s, fmt.Errorf("service %s: %w", sc.Name, err)
	}
	if sc.Restart == "" && sc.Deploy != nil && sc.Deploy.RestartPolicy != nil {
		rp := sc.Deploy.RestartPolicy
		switch rp.Condition {
		case "", "any":
			s.Restart.Mode = RestartAlways
		case "on-failure":
			s.Restart.Mode = RestartOnFailure
		case "none":
		default:
			return s, fmt.Errorf("service %s: deploy.restart_policy.condition %q: want none, on-failure or any", sc.Name, rp.Condition)
		}
		if rp.MaxAttempts != nil {
			s.Restart.MaxRetries = int(*rp.MaxAttempts)
		}
	}
	return s, nil
}

// extensionDuration reads x-roster.duration: a Go duration ("20s") or a
// number of seconds. It returns 0 when absent.
func extensionDuration(ext types.Extensions) (time.Duration, error) {
	return extensionDurationKey(ext, "duration")
}

// extensionDurationKey reads the duration x-roster.key.
func extensionDurationKey(ext types.Extensions, key string) (time.Duration, error) {
	v, ok := ext[ExtensionKey]
	if !ok || v == nil {
		return 0, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return 0, fmt.Errorf("%s: want a mapping like {duration: 20s}", ExtensionKey)
	}
	d, ok := m[key]
	if !ok || d == nil {
		return 0, nil
	}
	var dur time.Duration
	switch d := d.(type) {
	case string:
		var err error
		if dur, err = time.ParseDuration(d); err != nil {
			if secs, err2 := strconv.ParseFloat(d, 64); err2 == nil {
				dur = time.Duration(secs * float64(time.Second))
			} else {
				return 0, fmt.Errorf("%s.%s %q: want a duration like 20s", ExtensionKey, key, d)
			}
		}
	case int:
		dur = time.Duration(d) * time.Second
	case int64:
		dur = time.Duration(d) * time.Second
	case uint64:
		dur = time.Duration(d) * time.Second
	case float64:
		dur = time.Duration(d * float64(time.Second))
	default:
		return 0, fmt.Errorf("%s.%s %v: want a duration like 20s", ExtensionKey, key, d)
	}
	if dur <= 0 {
		return 0, fmt.Errorf("%s.%s %v: must be positive", ExtensionKey, key, d)
	}
	return dur, nil
}

// extensionRemovals reads x-roster.expect_removals: a list of peer names or
// positive ids.
func extensionRemovals(ext types.Extensions) ([]string, error) {
	m, _ := ext[ExtensionKey].(map[string]any)
	v, ok := m["expect_removals"]
	if !ok || v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s.expect_removals: want a list of peer names or ids", ExtensionKey)
	}
	var out []string
	for _, item := range list {
		switch x := item.(type) {
		case string:
			out = append(out, x)
		case int, int64, uint64, float64:
			s := fmt.Sprint(x)
			if n, err := strconv.Atoi(s); err != nil || n < 1 {
				return nil, fmt.Errorf("%s.expect_removals: %v is not a peer id", ExtensionKey, x)
			}
			out = append(out, s)
		default:
			return nil, fmt.Errorf("%s.expect_removals: %v is not a peer name or id", ExtensionKey, x)
		}
	}
	return out, nil
}

// extensionStrings reads x-roster.key: a list of strings (client ids).
func extensionStrings(ext types.Extensions, key string) ([]string, error) {
	m, _ := ext[ExtensionKey].(map[string]any)
	v, ok := m[key]
	if !ok || v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s.%s: want a list of client ids", ExtensionKey, key)
	}
	var out []string
	for _, item := range list {
		str, ok := item.(string)
		if !ok || str == "" {
			return nil, fmt.Errorf("%s.%s: %v is not a client id", ExtensionKey, key, item)
		}
		out = append(out, str)
	}
	return out, nil
}

// serviceOrder returns the service names in the order the file lists them
// (compose-go keeps services in a map); services the raw file does not list
// (from include or extends) follow in name order.
func serviceOrder(raw []byte, services types.Services) []string {
	var order []string
	seen := map[string]bool{}
	var doc yaml.Node
	if yaml.Unmarshal(raw, &doc) == nil && len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		top := doc.Content[0].Content
		for i := 0; i+1 < len(top); i += 2 {
			if top[i].Value != "services" || top[i+1].Kind != yaml.MappingNode {
				continue
			}
			svcs := top[i+1].Content
			for j := 0; j+1 < len(svcs); j += 2 {
				name := svcs[j].Value
				if _, ok := services[name]; ok && !seen[name] {
					seen[name] = true
					order = append(order, name)
				}
			}
		}
	}
	var rest []string
	for name := range services {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	return append(order, rest...)
}
