// Package query reads the audit trail back from the store: a page of
// records in commit order (Lookup), and a stream of new ones (Follower).
package query

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/store"
)

// Filter selects records.
type Filter struct {
	After string // store key to start after ("" from the beginning)
	Until string // with After: the last store key to read ("" no bound)
	// UserName matches userIdentity.userName, or the last part of the ARN
	// (a role session's name).
	UserName  string
	EventName string
	Max       int // at most 1000; 0 means 1000
	// Latest returns the latest Max matching records instead (still in
	// time order), and as cursor the newest key of the whole trail, so a
	// follower starts after everything that was there.
	Latest bool
}

// MaxLookup is the most records one Lookup returns.
const MaxLookup = 1000

func (f Filter) match(v []byte) bool {
	var rec struct {
		EventName    string `json:"eventName"`
		UserIdentity struct {
			UserName string `json:"userName"`
			ARN      string `json:"arn"`
		} `json:"userIdentity"`
	}
	if json.Unmarshal(v, &rec) != nil {
		return false
	}
	if f.EventName != "" && rec.EventName != f.EventName {
		return false
	}
	u := rec.UserIdentity
	return f.UserName == "" || u.UserName == f.UserName || strings.HasSuffix(u.ARN, "/"+f.UserName)
}

// Lookup returns records from the store in commit order, and a cursor: the
// key of the last one read (the next page starts after it).
func Lookup(ctx context.Context, st store.Store, f Filter) ([]json.RawMessage, string, error) {
	if f.Max <= 0 || f.Max > MaxLookup {
		f.Max = MaxLookup
	}
	var out []json.RawMessage
	last := f.After
	err := st.View(ctx, func(r store.Reader) error {
		if f.Latest {
			last = ""
			return store.ScanReverse(r, audit.KeyPrefix, "", func(k string, v []byte) (bool, error) {
				if last == "" {
					last = k
				}
				if f.match(v) {
					out = append(out, append(json.RawMessage(nil), v...))
				}
				return len(out) < f.Max, nil
			})
		}
		return r.Scan(audit.KeyPrefix, f.After, func(k string, v []byte) (bool, error) {
			if f.Until != "" && k > f.Until {
				return false, nil
			}
			last = k
			if f.match(v) {
				out = append(out, append(json.RawMessage(nil), v...))
			}
			return len(out) < f.Max, nil
		})
	})
	if f.Latest {
		slices.Reverse(out)
	}
	return out, last, err
}
