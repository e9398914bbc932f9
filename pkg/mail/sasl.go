package mail

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/emersion/go-sasl"
)

// XOAUTH2 is Google's and Microsoft's bearer-token SASL mechanism, which
// go-sasl no longer ships.
const XOAUTH2 = "XOAUTH2"

// XOAUTH2Payload is the initial client response, before base64:
// "user=" user ^A "auth=Bearer " token ^A ^A.
func XOAUTH2Payload(user, token string) []byte {
	return []byte("user=" + user + "\x01auth=Bearer " + token + "\x01\x01")
}

// NewXOAUTH2Client returns a SASL client for XOAUTH2. On failure the server
// sends a challenge (base64 JSON with status and scope); the client answers
// it with an empty response, as the mechanism requires, and records the
// decoded challenge for the error message.
func NewXOAUTH2Client(user, token string) *XOAUTH2Client {
	return &XOAUTH2Client{user: user, token: token}
}

// XOAUTH2Client implements sasl.Client.
type XOAUTH2Client struct {
	user, token string
	// Challenge is the server's error challenge, decoded, if one came.
	Challenge string
}

func (c *XOAUTH2Client) Start() (string, []byte, error) {
	return XOAUTH2, XOAUTH2Payload(c.user, c.token), nil
}

func (c *XOAUTH2Client) Next(challenge []byte) ([]byte, error) {
	c.Challenge = string(challenge)
	return []byte{}, nil
}

// NewOAuthBearerClient returns an RFC 7628 OAUTHBEARER client that, unlike
// go-sasl's, answers an error challenge with the required ^A so the server
// ends the exchange instead of waiting for more.
func NewOAuthBearerClient(user, host string, port int, token string) *OAuthBearerClient {
	return &OAuthBearerClient{inner: sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: token, Host: host, Port: port})}
}

// OAuthBearerClient implements sasl.Client.
type OAuthBearerClient struct {
	inner     sasl.Client
	Challenge string
}

func (c *OAuthBearerClient) Start() (string, []byte, error) { return c.inner.Start() }

func (c *OAuthBearerClient) Next(challenge []byte) ([]byte, error) {
	c.Challenge = string(challenge)
	return []byte{0x01}, nil
}

// NewPlainClient and NewLoginClient are the password mechanisms.
func NewPlainClient(user, password string) sasl.Client {
	return sasl.NewPlainClient("", user, password)
}

// NewLoginClient is the obsolete but common LOGIN mechanism.
func NewLoginClient(user, password string) sasl.Client {
	return &loginClient{user: user, password: password}
}

type loginClient struct {
	user, password string
	step           int
}

func (c *loginClient) Start() (string, []byte, error) { return "LOGIN", nil, nil }

func (c *loginClient) Next(challenge []byte) ([]byte, error) {
	c.step++
	switch c.step {
	case 1:
		return []byte(c.user), nil
	case 2:
		return []byte(c.password), nil
	}
	return nil, errors.New("LOGIN: unexpected server challenge")
}

// DecodeChallenge returns a base64 challenge decoded when it decodes,
// otherwise as given. Used to show Google's JSON error challenge.
func DecodeChallenge(s string) string {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return string(b)
	}
	return s
}

// OAuthBearerPayload is the RFC 7628 OAUTHBEARER initial client response,
// before base64: the GS2 header naming user, then host and port when known,
// then the bearer token. A ',' or '=' in user is escaped as the GS2 header
// requires.
func OAuthBearerPayload(user, host string, port int, token string) []byte {
	user = strings.NewReplacer("=", "=3D", ",", "=2C").Replace(user)
	s := "n,a=" + user + ",\x01"
	if host != "" {
		s += "host=" + host + "\x01"
	}
	if port > 0 {
		s += "port=" + strconv.Itoa(port) + "\x01"
	}
	return []byte(s + "auth=Bearer " + token + "\x01\x01")
}
