//go:build !linux

package gateway

import (
	"errors"
	"time"
)

// relayLoop exists on Linux only; elsewhere goroutines relay every session.
type relayLoop struct{}

func newRelayLoop(time.Duration) (*relayLoop, error) {
	return nil, errors.New("the event loop needs Linux")
}

func (*relayLoop) relay(_, _ loopEnd, _, _ <-chan struct{}) bool { return false }

func (*relayLoop) stop() {}

func (*relayLoop) taken() int64 { return 0 }
