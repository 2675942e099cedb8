package tokenlogin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/testkit"
)

func replays(t *testing.T) (*Replays, *clock.Fake) {
	t.Helper()
	st := testkit.Store(t)
	clk := clock.NewFake(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	return &Replays{Store: st, Clock: clk.Now}, clk
}

// records counts the replay records (by identity, by expiry).
func records(t *testing.T, r *Replays) (seen, expiries int) {
	t.Helper()
	err := r.Store.View(context.Background(), func(rd store.Reader) error {
		if err := rd.Scan(seenPrefix, "", func(string, []byte) (bool, error) { seen++; return true, nil }); err != nil {
			return err
		}
		return rd.Scan(expiryPrefix, "", func(string, []byte) (bool, error) { expiries++; return true, nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen, expiries
}

// TestReplaysClaim: a jti is accepted once per issuer until its JWT
// expires; the same jti of another issuer is another JWT.
func TestReplaysClaim(t *testing.T) {
	t.Parallel()
	r, clk := replays(t)
	ctx := context.Background()
	until := clk.Now().Add(10 * time.Minute)
	if err := r.Claim(ctx, "https://idp.example", "j-1", until); err != nil {
		t.Fatal(err)
	}
	if err := r.Claim(ctx, "https://idp.example", "j-1", until); !errors.Is(err, ErrSeen) {
		t.Fatalf("second use: %v", err)
	}
	if err := r.Claim(ctx, "https://other.example", "j-1", until); err != nil {
		t.Fatalf("another issuer's j-1: %v", err)
	}
	clk.Set(until)
	if err := r.Claim(ctx, "https://idp.example", "j-1", until); !errors.Is(err, ErrSeen) {
		t.Fatalf("at its until: %v", err)
	}
}

// TestReplaysPruned: records past their until are deleted by later
// claims, at most pruneBatch a claim, oldest first, and never a live one.
func TestReplaysPruned(t *testing.T) {
	t.Parallel()
	r, clk := replays(t)
	ctx := context.Background()
	start := clk.Now()
	n := pruneBatch + 10
	for i := range n {
		if err := r.Claim(ctx, "iss", fmt.Sprint("old-", i), start.Add(time.Duration(i+1)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if seen, exp := records(t, r); seen != n || exp != n {
		t.Fatalf("%d, %d records; want %d", seen, exp, n)
	}
	clk.Set(start.Add(time.Hour))
	if err := r.Claim(ctx, "iss", "new", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if seen, exp := records(t, r); seen != n-pruneBatch+1 || exp != n-pruneBatch+1 {
		t.Fatalf("after one claim: %d, %d records; want %d", seen, exp, n-pruneBatch+1)
	}
	if err := r.Claim(ctx, "iss", "newer", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if seen, exp := records(t, r); seen != 2 || exp != 2 {
		t.Fatalf("after two claims: %d, %d records; want the 2 live ones", seen, exp)
	}
	if err := r.Claim(ctx, "iss", "new", clk.Now().Add(time.Hour)); !errors.Is(err, ErrSeen) {
		t.Fatalf("a live record was pruned: %v", err)
	}
	// A record past its until, met before any prune, is replaced (its
	// verifier refuses an expired JWT before it gets here).
	if err := r.Claim(ctx, "iss", "short", clk.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	if err := r.Claim(ctx, "iss", "short", clk.Now().Add(time.Hour)); err != nil {
		t.Fatalf("a record past its until refused: %v", err)
	}
	if seen, exp := records(t, r); seen != 3 || exp != 3 {
		t.Fatalf("after the replacement: %d, %d records; want 3", seen, exp)
	}
}

// TestReplaysRace: of many logins with one jti at once, one succeeds.
func TestReplaysRace(t *testing.T) {
	t.Parallel()
	r, clk := replays(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 16 {
		wg.Go(func() {
			if err := r.Claim(context.Background(), "iss", "once", clk.Now().Add(time.Minute)); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if !errors.Is(err, ErrSeen) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d claims of one jti succeeded", ok)
	}
}
