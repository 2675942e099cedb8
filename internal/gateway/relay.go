package gateway

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// relay copies bytes both ways until either side closes. Without an idle
// timeout it uses io.Copy-style loops over pooled buffers; with one, every
// read extends a shared activity clock and a side whose read times out only
// ends the session if neither side has moved for the whole timeout.
func (g *Gateway) relay(client, upstream net.Conn) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		defer func() { done <- struct{}{} }()
		bp := bufPool.Get().(*[]byte)
		defer bufPool.Put(bp)
		buf := *bp
		for {
			if g.cfg.IdleTimeout > 0 {
				src.SetReadDeadline(time.Now().Add(g.cfg.IdleTimeout))
			}
			n, err := src.Read(buf)
			if n > 0 {
				last.Store(time.Now().UnixNano())
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) && time.Since(time.Unix(0, last.Load())) < g.cfg.IdleTimeout {
					continue
				}
				return
			}
		}
	}
	go pipe(upstream, client)
	go pipe(client, upstream)
	<-done
	client.Close()
	upstream.Close()
	<-done
}
