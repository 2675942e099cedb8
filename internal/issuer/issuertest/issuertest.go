// Package issuertest builds, for the tests of the issuer and of the logins
// that open its tokens, the parts GetIdentityCenterAuthToken runs on, wired
// as the app wires them on a real embedded store, and alice's
// identity-enhanced role session. It does not build the issuer itself: the
// issuer's own tests import it.
package issuertest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/iam"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/store/bolt"
	"github.com/idcgate/idcgate/internal/testkit"
)

// Account is the example config's first account, alice's.
const Account = "123456789012"

// World is the example config and what the issuer reads, on one store.
type World struct {
	Config     *config.Config
	Store      *bolt.DB
	Keys       *keyring.Keyring
	IdcApps    *redshiftidc.Service
	Serverless *serverless.Service
	Dir        *identitycenter.Directory
	// Alice is the example user alice's session of role analyst, allowed
	// every redshift-serverless action, with her Identity Center context;
	// it expires 12 hours after New.
	Alice *auth.Principal
}

// New builds a world on the example config with no workgroups. clock is
// every part's clock; delay is the workgroups' transition delay.
func New(tb testing.TB, clock func() time.Time, delay time.Duration) *World {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	cfg, err := config.Load(filepath.Join(filepath.Dir(file), "..", "..", "..", "examples", "idcgate.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.ApplyDefaults()
	mk := testkit.MasterKey(tb)
	st := testkit.Store(tb)
	keys, err := keyring.New(st, mk, clock, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	// The embedded store vouches for its reads, as the app wires it.
	idc := &redshiftidc.Service{Store: st, Versions: st, Rand: rand.Reader, Clock: clock}
	sl := &serverless.Service{Store: st, Versions: st, Clock: clock, Rand: rand.Reader, TransitionDelay: delay, IdcApplications: idc,
		OnCreateWorkgroup: func(tx store.Tx, sc serverless.Scope, wg serverless.Workgroup) error {
			return keys.Create(tx, keyring.ID{Account: sc.Account, Region: sc.Region, WorkgroupID: wg.WorkgroupId})
		},
		OnDeleteWorkgroup: func(tx store.Tx, sc serverless.Scope, wg serverless.Workgroup) error {
			return keyring.Destroy(tx, keyring.ID{Account: sc.Account, Region: sc.Region, WorkgroupID: wg.WorkgroupId})
		},
		AfterDeleteWorkgroup: func(sc serverless.Scope, wg serverless.Workgroup) {
			keys.Forget(keyring.ID{Account: sc.Account, Region: sc.Region, WorkgroupID: wg.WorkgroupId})
		},
	}
	ctx := context.Background()
	dir, err := identitycenter.NewWithStore(ctx, cfg, mk, st)
	if err != nil {
		tb.Fatal(err)
	}
	u, err := dir.UserByName(ctx, "alice")
	if err != nil {
		tb.Fatal(err)
	}
	alice := &auth.Principal{
		Kind: auth.KindAssumedRole, Account: Account, Name: "analyst", SessionName: "alice",
		ARN: "arn:aws:sts::123456789012:assumed-role/analyst/alice", RoleARN: "arn:aws:iam::123456789012:role/analyst",
		Identity: []*iam.Policy{iam.MustParsePolicy(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"redshift-serverless:*","Resource":"*"}]}`)},
		IdentityContext: &identitycenter.Context{
			InstanceArn: dir.InstanceArn, IdentityStoreID: dir.IdentityStoreID, IdentityStoreArn: dir.IdentityStoreArn,
			UserID: u.UserID, UserName: u.UserName, ApplicationArn: "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-1a2b3c4d5e6f7a8b",
		},
		Expiration: clock().Add(12 * time.Hour),
	}
	return &World{Config: cfg, Store: st, Keys: keys, IdcApps: idc, Serverless: sl, Dir: dir, Alice: alice}
}

// Workgroup names a namespace, its database ("" for the default) and
// its workgroup.
type Workgroup struct{ Namespace, Database, Name string }

// AddWorkgroups gives sc the config's Identity Center application
// "demo-idc" and, for each of wgs, a namespace with that application and
// its workgroup (base capacity 8).
func (w *World) AddWorkgroups(tb testing.TB, sc serverless.Scope, wgs ...Workgroup) {
	tb.Helper()
	ctx := context.Background()
	arns, err := w.IdcApps.ApplyConfig(ctx, sc, []redshiftidc.Application{{Name: "demo-idc", IdentityNamespace: "AWSIDC", IdcInstanceArn: w.Config.IdentityCenter.InstanceArn}})
	if err != nil {
		tb.Fatal(err)
	}
	appArn := arns["demo-idc"]
	for _, wg := range wgs {
		in := serverless.CreateNamespaceInput{NamespaceName: &wg.Namespace, RedshiftIdcApplicationArn: &appArn}
		if wg.Database != "" {
			in.DbName = &wg.Database
		}
		if _, err := w.Serverless.EnsureNamespace(ctx, sc, in); err != nil {
			tb.Fatal(err)
		}
		base := int32(8)
		if _, err := w.Serverless.EnsureWorkgroup(ctx, sc, serverless.CreateWorkgroupInput{WorkgroupName: &wg.Name, NamespaceName: &wg.Namespace, BaseCapacity: &base}); err != nil {
			tb.Fatal(err)
		}
	}
}

// Tampered is tok with one byte of its sealed claims flipped: the same
// shape, but it must not open.
func Tampered(tb testing.TB, tok string) string {
	tb.Helper()
	blob, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, authtoken.Prefix))
	if err != nil {
		tb.Fatal(err)
	}
	blob[len(blob)-30] ^= 0x01
	return authtoken.Prefix + base64.RawURLEncoding.EncodeToString(blob)
}
