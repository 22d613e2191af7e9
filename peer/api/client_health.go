package api

import (
	"encoding/json"
	"fmt"
)

// ClientHealth is a group client's answer to GET /health and GET /ready on
// its health address (roster client --health): what it is and whether it
// is in its group. It answers 200 to /health while it runs, and to /ready
// when OK (it joined and the last group view it saw holds it), 503
// otherwise, with this body either way.
type ClientHealth struct {
	Client string `json:"client"`
	Group  string `json:"group"`
	// Incarnation is its current life (0 before its first join).
	Incarnation uint64 `json:"incarnation"`
	// Index is the index of the last group view it saw.
	Index uint64 `json:"index"`
	// Member says whether it is in the group: joined, and not dropped
	// since by a view it saw.
	Member bool `json:"member"`
	// OK is Member: the client is ready.
	OK bool `json:"ok"`
}

// String is one line: "ok" or why not.
func (h ClientHealth) String() string {
	switch {
	case h.OK:
		return "ok"
	case h.Incarnation == 0:
		return fmt.Sprintf("client %s: not in group %s yet (joining)", h.Client, h.Group)
	}
	return fmt.Sprintf("client %s: dropped from group %s at index %d (joining again)", h.Client, h.Group, h.Index)
}

// ParseClientHealth reads body as a group client's health; ok is false
// when it is not one (a peer's answer, say).
func ParseClientHealth(body []byte) (h ClientHealth, ok bool) {
	if json.Unmarshal(body, &h) != nil || h.Client == "" || h.Group == "" {
		return ClientHealth{}, false
	}
	return h, true
}
