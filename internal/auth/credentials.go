package auth

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// WriteCredentialsFile writes the administrator keys in the AWS
// shared-credentials format: profile "default" for the first account and one
// profile named after each account id. The file is replaced atomically and
// has mode 0600.
func WriteCredentialsFile(path string, roots []RootCredential) error {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	var b bytes.Buffer
	b.WriteString("# Administrator (account root) credentials of this idcgate deployment.\n")
	b.WriteString("# Use with AWS_SHARED_CREDENTIALS_FILE=" + path + "\n")
	for i, r := range roots {
		if i == 0 {
			writeProfile(&b, "default", r)
		}
		writeProfile(&b, r.Account, r)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".credentials-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func writeProfile(b *bytes.Buffer, name string, r RootCredential) {
	fmt.Fprintf(b, "\n[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", name, r.AccessKeyID, r.SecretAccessKey)
}
