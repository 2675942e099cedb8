package app

import (
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// servePprof serves Go's profiling endpoints on their own listener (bound at
// Open when pprof-listen is set) and mux, never on the API listener nor on
// http.DefaultServeMux. It returns the function that stops them.
func (a *App) servePprof() func() {
	ln := a.pprofListener
	if ln == nil {
		return func() {}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		a.Log.Warn("profiling endpoints are served unauthenticated beyond loopback", "pprof_addr", ln.Addr().String())
	} else {
		a.Log.Info("serving profiling endpoints", "pprof_addr", ln.Addr().String())
	}
	return func() { srv.Close() }
}
