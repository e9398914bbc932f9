package secret

import (
	"maps"
	"testing"
)

// FuzzDecodeFile feeds the bytes of a secrets file, which anyone who can
// write the file (or the CI cache it lives in) controls, through decryption
// and parsing: no panic, errors only, and whatever opens writes back to
// the same map.
func FuzzDecodeFile(f *testing.F) {
	pass := &Passphrase{Value: "fuzz", From: EnvPassphrase}
	enc, err := encrypt([]byte("token/a: \"v\\n\"\npassword/b: pw\n"), pass, MinWorkFactor)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add([]byte("token/a: v\n"))
	f.Add([]byte("# comments only\n"))
	f.Add([]byte("-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n"))
	f.Add([]byte("age-encryption.org/v1\n-> scrypt AAAAAAAAAAAAAAAAAAAAAA 30\nAAAA\n--- AAAA\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, encrypted, err := decodeFile("/fuzz/secrets.yaml", b, pass, MinWorkFactor)
		if err != nil {
			return
		}
		body, err := encodeSecrets(m)
		if err != nil {
			t.Fatalf("an opened map does not encode: %v", err)
		}
		if encrypted {
			if body, err = encrypt(body, pass, MinWorkFactor); err != nil {
				t.Fatal(err)
			}
		}
		again, _, err := decodeFile("/fuzz/secrets.yaml", body, pass, MinWorkFactor)
		if err != nil {
			t.Fatalf("what mailport writes does not open: %v\n%q", err, body)
		}
		if !maps.Equal(m, again) {
			t.Fatalf("round trip changed the map:\n%q\n%q", m, again)
		}
	})
}
