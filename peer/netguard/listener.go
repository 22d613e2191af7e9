package netguard

import (
	"net"
	"sync"
)

// Listener is a net.Listener that admits connections through a
// ConnLimiter: one over a cap is closed at once (and counted in the rate
// log), the others are released when closed. Safe for concurrent use.
type Listener struct {
	net.Listener
	Limit *ConnLimiter
	// Log, if set, counts refused connections under Name.
	Log  *RateLog
	Name string
}

// Accept returns the next admitted connection.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		release, ok := l.Limit.Acquire(RemoteIP(c))
		if !ok {
			c.Close()
			if l.Log != nil {
				l.Log.Warn(l.Name+": connection refused: too many connections", "from", c.RemoteAddr().String())
			}
			continue
		}
		return &Conn{Conn: c, release: release}, nil
	}
}

// Conn is an admitted connection; Close releases its place. Safe for
// concurrent use as the net.Conn it wraps.
type Conn struct {
	net.Conn
	release func()
	once    sync.Once
}

// Close closes the connection and releases its place in the limiter.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// NetConn returns the wrapped connection.
func (c *Conn) NetConn() net.Conn { return c.Conn }
