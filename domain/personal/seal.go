package personal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeySize is the size of master and data keys: AES-256.
const KeySize = 32

// MasterKey wraps data keys. It is given by configuration
// (KAIKU_MASTER_KEY as 64 hex characters, or a key file) and never stored
// with the data.
type MasterKey struct{ k [KeySize]byte }

// ErrNoMasterKey reports that no master key was configured.
var ErrNoMasterKey = errors.New("no master key: set KAIKU_MASTER_KEY (32 random bytes as 64 hex characters, e.g. `openssl rand -hex 32`) or KAIKU_MASTER_KEY_FILE")

// ParseMasterKey parses 64 hex characters (surrounding white space
// ignored). The error never repeats the input.
func ParseMasterKey(s string) (MasterKey, error) {
	var m MasterKey
	s = strings.TrimSpace(s)
	if len(s) != 2*KeySize {
		return m, fmt.Errorf("master key: want %d hex characters, got %d", 2*KeySize, len(s))
	}
	if _, err := hex.Decode(m.k[:], []byte(s)); err != nil {
		return m, errors.New("master key: not hexadecimal")
	}
	if m.k == ([KeySize]byte{}) {
		return m, errors.New("master key: all zero")
	}
	return m, nil
}

// LoadMasterKey returns the master key from value (KAIKU_MASTER_KEY) or,
// when that is empty, from the file at path (KAIKU_MASTER_KEY_FILE). It
// returns ErrNoMasterKey when both are empty.
func LoadMasterKey(value, path string) (MasterKey, error) {
	switch {
	case value != "" && path != "":
		return MasterKey{}, errors.New("master key: set KAIKU_MASTER_KEY or KAIKU_MASTER_KEY_FILE, not both")
	case value != "":
		return ParseMasterKey(value)
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			return MasterKey{}, fmt.Errorf("master key file: %w", err)
		}
		m, err := ParseMasterKey(string(b))
		if err != nil {
			return m, fmt.Errorf("%s: %w", path, err)
		}
		return m, nil
	}
	return MasterKey{}, ErrNoMasterKey
}

// NewMasterKey returns a random master key (for the demo and tests) and
// its hex form.
func NewMasterKey() (MasterKey, string) {
	var m MasterKey
	if _, err := rand.Read(m.k[:]); err != nil {
		panic(fmt.Errorf("crypto/rand: %w", err))
	}
	return m, hex.EncodeToString(m.k[:])
}

// Fingerprint identifies the master key without revealing it: the first 16
// bytes of HMAC-SHA256(key, "kaiku.master.fingerprint.v1"). Stores record
// it with each wrapped data key, so a wrong master key is named as such.
func (m MasterKey) Fingerprint() []byte {
	h := hmac.New(sha256.New, m.k[:])
	h.Write([]byte("kaiku.master.fingerprint.v1"))
	return h.Sum(nil)[:16]
}

// DataKey is one subject's key.
type DataKey struct{ k [KeySize]byte }

// NewDataKey returns a random data key.
func NewDataKey() DataKey {
	var d DataKey
	if _, err := rand.Read(d.k[:]); err != nil {
		panic(fmt.Errorf("crypto/rand: %w", err))
	}
	return d
}

// ErrWrongKey reports that a wrapped key or a sealed part does not open
// under the key given: the master key is not the one that wrapped it, or
// the stored bytes were changed.
var ErrWrongKey = errors.New("does not open under this key (wrong master key, or the stored bytes were changed)")

func gcm(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // key length is fixed at KeySize
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return a
}

func seal(key, plain, aad []byte) []byte {
	a := gcm(key)
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plain)+a.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Errorf("crypto/rand: %w", err))
	}
	return a.Seal(nonce, nonce, plain, aad)
}

func open(key, sealed, aad []byte) ([]byte, error) {
	a := gcm(key)
	if len(sealed) < a.NonceSize()+a.Overhead() {
		return nil, ErrWrongKey
	}
	out, err := a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], aad)
	if err != nil {
		return nil, ErrWrongKey
	}
	return out, nil
}

func wrapAAD(s Subject) []byte { return append([]byte("kaiku.datakey.v1\x00"), s...) }

// Wrap encrypts d for subject s under m.
func (m MasterKey) Wrap(s Subject, d DataKey) []byte { return seal(m.k[:], d.k[:], wrapAAD(s)) }

// Unwrap decrypts a data key Wrap made for subject s. It returns an error
// wrapping ErrWrongKey when m is not the key that wrapped it.
func (m MasterKey) Unwrap(s Subject, wrapped []byte) (DataKey, error) {
	var d DataKey
	b, err := open(m.k[:], wrapped, wrapAAD(s))
	if err != nil {
		return d, fmt.Errorf("data key of %s: %w", s, err)
	}
	if len(b) != KeySize {
		return d, fmt.Errorf("data key of %s: %d bytes, want %d", s, len(b), KeySize)
	}
	copy(d.k[:], b)
	return d, nil
}

// sealedPrefix starts every sealed personal part:
// "kaiku-sealed-v1.<hex sha256 of the plain text>.<base64url(nonce‖ciphertext)>".
const sealedPrefix = "kaiku-sealed-v1."

func partAAD(s Subject, digest []byte) []byte {
	b := append([]byte("kaiku.personal.v1\x00"), s...)
	b = append(b, 0)
	return append(b, digest...)
}

// Digest is the SHA-256 of a plain personal part: what the hash chain
// covers (audit.PersonalDigest computes the same).
func Digest(plain []byte) []byte {
	d := sha256.Sum256(plain)
	return d[:]
}

// Seal encrypts a plain personal part of subject s under d and returns
// its sealed text form.
func (d DataKey) Seal(s Subject, plain []byte) string {
	digest := Digest(plain)
	ct := seal(d.k[:], plain, partAAD(s, digest))
	return sealedPrefix + hex.EncodeToString(digest) + "." + base64.RawURLEncoding.EncodeToString(ct)
}

// Open decrypts a sealed part of subject s. It returns an error wrapping
// ErrWrongKey when d is not s's key or the sealed text was changed, and
// checks that the plain text has the digest the sealed form names.
func (d DataKey) Open(s Subject, sealed string) ([]byte, error) {
	digest, ct, err := parseSealed(sealed)
	if err != nil {
		return nil, err
	}
	plain, err := open(d.k[:], ct, partAAD(s, digest))
	if err != nil {
		return nil, fmt.Errorf("personal part of %s: %w", s, err)
	}
	if !bytes.Equal(Digest(plain), digest) {
		return nil, fmt.Errorf("personal part of %s: plain text does not have the digest it names", s)
	}
	return plain, nil
}

// IsSealed reports whether text is a sealed personal part.
func IsSealed(text string) bool { return strings.HasPrefix(text, sealedPrefix) }

// SealedDigest returns the plain-text digest a sealed part names.
func SealedDigest(sealed string) ([]byte, error) {
	d, _, err := parseSealed(sealed)
	return d, err
}

func parseSealed(sealed string) (digest, ct []byte, err error) {
	rest, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return nil, nil, errors.New("personal part is not sealed")
	}
	h, b, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, nil, errors.New("sealed personal part is malformed")
	}
	if digest, err = hex.DecodeString(h); err != nil || len(digest) != sha256.Size {
		return nil, nil, errors.New("sealed personal part has a bad digest")
	}
	if ct, err = base64.RawURLEncoding.DecodeString(b); err != nil {
		return nil, nil, errors.New("sealed personal part has bad ciphertext encoding")
	}
	return digest, ct, nil
}
