package server

import (
	"reflect"
	"testing"

	"github.com/idcgate/idcgate/internal/audit"
)

// TestHidePersonal: an Identity Store call's record keeps ids, paging and
// attribute paths, and hides every value that is a person's data, however
// deep.
func TestHidePersonal(t *testing.T) {
	t.Parallel()
	params := map[string]any{
		"IdentityStoreId": "d-9067a1b2c3", "UserName": "alice", "DisplayName": "Alice",
		"Emails":     []any{map[string]any{"Value": "alice@example.com", "Primary": true}},
		"Name":       map[string]any{"GivenName": "Alice"},
		"Operations": []any{map[string]any{"AttributePath": "displayName", "AttributeValue": "Al"}},
		"AlternateIdentifier": map[string]any{"UniqueAttribute": map[string]any{"AttributePath": "emails.value", "AttributeValue": "alice@example.com"},
			"ExternalId": map[string]any{"Issuer": "scim", "Id": "e-7"}},
		"MaxResults": float64(10),
	}
	hidePersonal(params)
	want := map[string]any{
		"IdentityStoreId": "d-9067a1b2c3", "UserName": audit.Hidden, "DisplayName": audit.Hidden,
		"Emails": audit.Hidden, "Name": audit.Hidden,
		"Operations": []any{map[string]any{"AttributePath": "displayName", "AttributeValue": audit.Hidden}},
		"AlternateIdentifier": map[string]any{"UniqueAttribute": map[string]any{"AttributePath": "emails.value", "AttributeValue": audit.Hidden},
			"ExternalId": map[string]any{"Issuer": "scim", "Id": audit.Hidden}},
		"MaxResults": float64(10),
	}
	if !reflect.DeepEqual(params, want) {
		t.Fatalf("hidden:\n%v\nwant\n%v", params, want)
	}
}
