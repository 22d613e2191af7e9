// Package testkit holds the small helpers the module's tests share: waiting
// for a condition with a deadline, and a buffer safe for concurrent writers.
// It lives under internal/ so that the service's tests (peer/...) and the
// lab's use the same code without the service importing the lab. Only test
// files import it.
package testkit
