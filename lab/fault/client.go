package fault

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client drives one peer's fault API. The zero HTTP uses
// http.DefaultClient. A Client is a plain value, safe for concurrent use.
type Client struct {
	// BaseURL is the peer's API root, like "http://127.0.0.1:8082".
	BaseURL string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
	// Token, if set, is sent as "Authorization: Bearer TOKEN": the peer's
	// --api-token, which every request that changes faults needs.
	Token string
}

// Get returns the peer's current faults.
func (c Client) Get(ctx context.Context) (Status, error) {
	return c.do(ctx, http.MethodGet, "/faults", nil)
}

// Set replaces the peer's rules and partition with s.
func (c Client) Set(ctx context.Context, s State) (Status, error) {
	return c.do(ctx, http.MethodPut, "/faults", s)
}

// Clear removes every fault of the peer: rules, partition and pause.
func (c Client) Clear(ctx context.Context) (Status, error) {
	return c.do(ctx, http.MethodDelete, "/faults", nil)
}

// Pause makes the peer drop all traffic with every peer for d.
func (c Client) Pause(ctx context.Context, d time.Duration) (Status, error) {
	return c.do(ctx, http.MethodPost, "/faults/pause?for="+url.QueryEscape(d.String()), nil)
}

// Resume ends the peer's pause early.
func (c Client) Resume(ctx context.Context) (Status, error) {
	return c.do(ctx, http.MethodDelete, "/faults/pause", nil)
}

// Partition installs a partition on the peer (see Injector.SetPartition).
// A peer filters its own links both ways, so telling the peers of one side
// already cuts it off; telling every peer is simplest.
func (c Client) Partition(ctx context.Context, sides [][]int) (Status, error) {
	return c.do(ctx, http.MethodPost, "/faults/partition", PartitionRequest{Sides: sides})
}

// Heal removes the peer's partition.
func (c Client) Heal(ctx context.Context) (Status, error) {
	return c.do(ctx, http.MethodDelete, "/faults/partition", nil)
}

// do sends one request and decodes the Status the API answers with, or
// turns an error response into an error carrying the API's reason.
func (c Client) do(ctx context.Context, method, path string, body any) (Status, error) {
	var st Status
	target := strings.TrimSuffix(c.BaseURL, "/") + path
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return st, fmt.Errorf("fault API %s %s: %w", method, target, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return st, fmt.Errorf("fault API %s %s: %w", method, target, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return st, fmt.Errorf("fault API %s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return st, fmt.Errorf("fault API %s %s: reading the answer: %w", method, target, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e apiError
		reason := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			reason = e.Error
		}
		return st, fmt.Errorf("fault API %s %s: %s: %s", method, target, resp.Status, reason)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("fault API %s %s: bad answer: %w", method, target, err)
	}
	return st, nil
}
