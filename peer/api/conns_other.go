//go:build !unix

package api

// connsTotal caps concurrent connections from addresses that are not
// peers (see conns_unix.go); without a file limit to size it by, 1,024.
func connsTotal() int { return 1024 }
