package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/upstreamca"
)

// UpstreamCAFile is where the upstream CA's certificate is written in the
// data dir, for the upstream's ssl_ca_file.
const UpstreamCAFile = "upstream-ca.crt"

// upstreamCA checks that every configured upstream can carry users'
// sessions (TLS), opens the CA the gateway logs users in with (creating it
// in the store on the deployment's first start) and writes its certificate
// into the data dir.
func upstreamCA(ctx context.Context, cfg *config.Config, mk *masterkey.Key, st store.Store) (*upstreamca.CA, error) {
	dsns := map[string]string{"pgUpstream": cfg.PGUpstream}
	for _, a := range cfg.Accounts {
		for _, w := range a.Workgroups {
			dsns["the upstream of workgroup "+a.ID+"/"+w.Name] = w.Upstream
		}
	}
	for what, dsn := range dsns {
		if dsn == "" || dsn == config.UpstreamManaged || dsn == config.UpstreamNone {
			continue
		}
		if err := gateway.CheckUpstream(dsn); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	ca, err := upstreamca.Open(ctx, st, mk.Derive(32, "upstream-ca-wrap"), nil)
	if err != nil {
		return nil, err
	}
	// Public: PostgreSQL's ssl_ca_file is read by its server user.
	if err := os.WriteFile(filepath.Join(cfg.DataDir, UpstreamCAFile), ca.CertPEM(), 0o644); err != nil {
		return nil, fmt.Errorf("upstream CA: %w", err)
	}
	return ca, nil
}
