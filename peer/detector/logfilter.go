package detector

import (
	"bytes"
	"io"
)

// routine are memberlist's complaints about a peer that is down, restarting
// or cut off, which memberlist logs as errors or warnings. Failure detection
// exists to live with them, and roster reports their outcome in the view log
// ("peer N unreachable", a view without N), so they are logged at debug
// level. Each is matched as the start of the message, after "memberlist: ".
var routine = [][]byte{
	[]byte("Push/Pull with "),
	[]byte("failed to resolve "),
	[]byte("Failed fallback TCP ping"),
	[]byte("Failed to send gossip to "),
	[]byte("Failed to send UDP ping"),
	[]byte("Failed to send UDP compound ping"),
	[]byte("Failed to send indirect"),
	[]byte("Failed to send ack"),
	[]byte("Failed to forward ack"),
	[]byte("Failed to send nack"),
	[]byte("Failed to send error"),
	[]byte("Failed to read remote state"),
	[]byte("Failed to push local state"),
	[]byte("failed to receive"),
	// A peer restarted, or answered after a false suspicion.
	[]byte("Refuting a"),
	[]byte("Got ping for unexpected node"),
	// Under loss (real or injected) probes fail while TCP gets through.
	[]byte("Was able to connect to "),
}

var (
	memberlistTag = []byte(" memberlist: ")
	debugTag      = []byte("[DEBUG]")
)

// logFilter sits between memberlist's logger and hclog's standard writer
// (which reads the level from the "[ERR]", "[WARN]" ... tag in front) and
// logs the routine complaints at debug level. Safe for concurrent use if w is.
type logFilter struct{ w io.Writer }

func (f logFilter) Write(p []byte) (int, error) {
	if tag, msg, ok := bytes.Cut(p, memberlistTag); ok && bytes.HasPrefix(tag, []byte("[")) && !bytes.Equal(tag, debugTag) {
		for _, r := range routine {
			if bytes.HasPrefix(msg, r) {
				q := make([]byte, 0, len(p)+2)
				q = append(append(append(q, debugTag...), memberlistTag...), msg...)
				if _, err := f.w.Write(q); err != nil {
					return 0, err
				}
				return len(p), nil
			}
		}
	}
	return f.w.Write(p)
}
