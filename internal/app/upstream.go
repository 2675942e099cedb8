package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/gateway/tokenlogin"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/upstreamca"
)

// UpstreamCAFile is where the upstream CA's certificate is written in the
// data dir, for the upstream's ssl_ca_file.
const UpstreamCAFile = "upstream-ca.crt"

// upstreamCA checks that every configured upstream can carry users'
// sessions (tokenlogin.CheckConfigured), opens the CA the gateway logs
// users in with (creating it in the store on the deployment's first start)
// and writes its certificate into the data dir.
func upstreamCA(ctx context.Context, cfg *config.Config, mk *masterkey.Key, st store.Store) (*upstreamca.CA, error) {
	if err := tokenlogin.CheckConfigured(cfg); err != nil {
		return nil, err
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
