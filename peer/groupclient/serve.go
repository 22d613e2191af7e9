package groupclient

import (
	"errors"
	"net"
	"net/http"
	"time"
)

// ServeTCP answers TCP checks on ln: it accepts each connection and closes
// it at once. It returns when ln is closed.
func ServeTCP(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return
		}
		c.Close()
	}
}

// ServeHTTP answers HTTP checks on ln: 200 "ok" on every path. It returns
// when ln is closed.
func ServeHTTP(ln net.Listener) {
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("ok\n"))
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	srv.Serve(ln)
}
