package awserror

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// notOnTheWire lists the exported sentinels that deliberately have no row:
// each reaches a client only wrapped in a sentinel that has one, or never.
// A new Err* in a package on the API path must go into the table or here.
var notOnTheWire = map[string]string{
	"authtoken.ErrMalformed":          "gateway and InspectToken only",
	"authtoken.ErrForeignWorkgroup":   "gateway and InspectToken only",
	"authtoken.ErrKeyUnavailable":     "gateway and InspectToken only",
	"authtoken.ErrTampered":           "gateway and InspectToken only",
	"authtoken.ErrWrongAccount":       "gateway and InspectToken only",
	"authtoken.ErrWrongRegion":        "gateway and InspectToken only",
	"authtoken.ErrExpired":            "gateway and InspectToken only",
	"authtoken.ErrTruncated":          "gateway and InspectToken only",
	"dbcreds.ErrMalformed":            "the gateway's (IAM credentials logins)",
	"dbcreds.ErrForeignWorkgroup":     "the gateway's (IAM credentials logins)",
	"dbcreds.ErrTampered":             "the gateway's (IAM credentials logins)",
	"dbcreds.ErrExpired":              "the gateway's (IAM credentials logins)",
	"iam.ErrMalformedPolicy":          "config start and sts (answered as sts.ErrMalformedPolicy)",
	"identitycenter.ErrNoSuchUser":    "oidc answers invalid_grant",
	"identitycenter.ErrAmbiguousUser": "oidc answers invalid_grant",
	"identitystore.ErrNoSuchUser":     "the token flows answer their own refusal",
	"identitystore.ErrAmbiguousUser":  "oidc answers invalid_grant",
	"jwtverify.ErrAlgorithm":          "oidc answers invalid_grant",
	"jwtverify.ErrSignature":          "oidc answers invalid_grant",
	"jwtverify.ErrClaimType":          "oidc answers invalid_grant",
	"jwtverify.ErrMissingClaim":       "oidc answers invalid_grant",
	"jwtverify.ErrExpired":            "oidc answers invalid_grant",
	"jwtverify.ErrNotYet":             "oidc answers invalid_grant",
	"jwtverify.ErrIssuedInFuture":     "oidc answers invalid_grant",
	"jwtverify.ErrIssuer":             "oidc answers invalid_grant",
	"jwtverify.ErrAudience":           "oidc answers invalid_grant",
	"jwtverify.ErrKeys":               "oidc answers oidc.ErrIssuerUnavailable",
	"jwtverify.ErrMalformed":          "oidc answers invalid_grant",
	"keyring.ErrNoKeyring":            "the gateway's; administrator calls find the workgroup first",
	"keyring.ErrRetired":              "the gateway's and InspectToken's",
	"keyring.ErrNoVersion":            "the gateway's and InspectToken's",
	"masterkey.ErrInvalid":            "start-up only",
	"masterkey.ErrMismatch":           "start-up only",
	"oidc.ErrIssuerNotAccepted":       "CreateTokenWithIAM answers oidc.ErrUnauthorizedClient; the gateway refuses EXT_JWT",
	"pagetoken.ErrInvalidToken":       "callers answer validation.ErrInvalid",
	"passwords.ErrWrongPassword":      "the sign-in pages show it",
	"passwords.ErrSlowedDown":         "the sign-in pages show it",
	"passwords/phc.ErrBadHash":        "config start-up; a stored hash that does not parse is an internal error",
	"seal.ErrInvalid":                 "callers answer their own sentinel",
	"store.ErrNotFound":               "domain packages answer their own not-found",
	"store.ErrClosed":                 "shutdown: an internal error",
	"store/bolt.ErrInUse":             "start-up only",
	"sts.ErrSessionTokenInvalid":      "sigv4 answers ErrInvalidClientToken",
}

// notOnTheAPIPath are packages whose errors never reach an AWS API answer.
var notOnTheAPIPath = map[string]string{
	"app":        "wiring",
	"cli":        "command line",
	"client":     "the command line's AWS client",
	"config":     "start-up",
	"gateway":    "PostgreSQL wire: the gateway maps its own errors",
	"managedpg":  "start-up of the managed PostgreSQL",
	"pgbin":      "finding PostgreSQL's server binaries at start-up",
	"pgtest":     "tests",
	"testserver": "tests",
	"upstreamca": "the gateway's upstream certificates",
}

// TestEverySentinelHasARowOrAReason walks the exported Err* variables of
// the packages under internal/ by parsing their Go files, so a sentinel
// added later cannot be forgotten: each is a row's Sentinel or listed in
// notOnTheWire with the reason.
func TestEverySentinelHasARowOrAReason(t *testing.T) {
	inTable := tableSentinels(t)
	declared := map[string]bool{}
	root := filepath.Join("..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			top, _, _ := strings.Cut(rel, "/")
			if d.Name() == "testdata" || notOnTheAPIPath[top] != "" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		for _, name := range exportedErrVars(t, path) {
			declared[filepath.ToSlash(filepath.Dir(rel))+"."+name] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range declared {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		switch _, listed := notOnTheWire[n]; {
		case inTable[n] && listed:
			t.Errorf("%s has a row and is listed in notOnTheWire", n)
		case !inTable[n] && !listed:
			t.Errorf("%s has no row in the table and is not listed in notOnTheWire", n)
		}
	}
	for n := range notOnTheWire {
		if !declared[n] {
			t.Errorf("notOnTheWire lists %s, which is not declared", n)
		}
	}
	for n := range inTable {
		if !declared[n] {
			t.Errorf("the table names %s, which is not an exported Err* variable found here", n)
		}
	}
	if len(declared) < len(rows) {
		t.Fatalf("found %d sentinels, fewer than the %d rows: the walk is broken", len(declared), len(rows))
	}
}

// exportedErrVars lists the package-level variables of one file named Err….
func exportedErrVars(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			for _, id := range spec.(*ast.ValueSpec).Names {
				if strings.HasPrefix(id.Name, "Err") && id.IsExported() {
					out = append(out, id.Name)
				}
			}
		}
	}
	return out
}

// tableSentinels reads awserror.go and names each row's Sentinel as
// "path/under/internal.ErrName".
func tableSentinels(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile("awserror.go")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "awserror.go", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "github.com/idcgate/idcgate/internal/"
	pkgs := map[string]string{}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := p[strings.LastIndex(p, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		pkgs[name] = strings.TrimPrefix(p, prefix)
	}
	out := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		kv, ok := n.(*ast.KeyValueExpr)
		if !ok {
			return true
		}
		if k, ok := kv.Key.(*ast.Ident); !ok || k.Name != "Sentinel" {
			return true
		}
		sel, ok := kv.Value.(*ast.SelectorExpr)
		if !ok {
			t.Errorf("a Sentinel is not pkg.ErrName: %T", kv.Value)
			return false
		}
		out[pkgs[sel.X.(*ast.Ident).Name]+"."+sel.Sel.Name] = true
		return false
	})
	if len(out) != len(rows) {
		t.Fatalf("read %d Sentinel entries in awserror.go, the table has %d rows", len(out), len(rows))
	}
	return out
}
