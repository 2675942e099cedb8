package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// With no credentials anywhere, New says where to put them, and never asks
// the EC2 instance metadata service (here pointed at a local server that
// counts what reaches it).
func TestNoCredentialsNoMetadataService(t *testing.T) {
	var hits atomic.Int64
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "no", http.StatusNotFound)
	}))
	defer imds.Close()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"HOME": dir, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "missing-credentials"),
		"AWS_CONFIG_FILE":             filepath.Join(dir, "missing-config"),
		"AWS_EC2_METADATA_DISABLED":   "", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.URL,
	} {
		t.Setenv(k, v)
	}
	_, err := New(context.Background(), Options{Endpoint: DefaultEndpoint, Region: "us-east-1"})
	if !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("New: %v, want ErrNoCredentials", err)
	}
	for _, want := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE=<data-dir>/credentials"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the instance metadata service was asked %d times", n)
	}
}
