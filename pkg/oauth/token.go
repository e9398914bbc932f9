package oauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/mailport/mailport/pkg/secret"
)

// Token is what mailport keeps per account in the secret store, as JSON
// under secret.TokenKey(account).
type Token struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	// Scopes are the scopes the provider says it granted (its "scope"
	// field); when it says nothing, the scopes requested.
	Scopes     []string  `json:"scopes,omitempty"`
	ObtainedAt time.Time `json:"obtained_at"`
	// Flow and ClientID say how and for whom the token was obtained; a
	// token from another client id is not used.
	Flow     string `json:"flow,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	// User is the signed-in identity (identity_claim, upn,
	// preferred_username or email from the ID or access token).
	User string `json:"user,omitempty"`
	// Claims of a JWT access token, decoded without verification: for
	// diagnosis only, never for a security decision.
	Claims *Claims `json:"claims,omitempty"`
	// ReauthCause is set when the provider refused the refresh token, so
	// status can say NEEDS REAUTH without asking the provider again.
	ReauthCause string `json:"reauth_cause,omitempty"`
	// EnvOrigin is set on a token kept for an environment refresh token
	// (TokenSource.KeepOverride): the OverrideOrigin of the variable's
	// value it was rotated from.
	EnvOrigin string `json:"env_origin,omitempty"`
}

// Claims are the JWT claims that matter for diagnosing a mail login.
type Claims struct {
	Audience          []string  `json:"aud,omitempty"`
	Scopes            []string  `json:"scp,omitempty"`   // delegated scopes (space-separated "scp")
	Roles             []string  `json:"roles,omitempty"` // app-only permissions
	TenantID          string    `json:"tid,omitempty"`
	UPN               string    `json:"upn,omitempty"`
	PreferredUsername string    `json:"preferred_username,omitempty"`
	Email             string    `json:"email,omitempty"`
	Issuer            string    `json:"iss,omitempty"`
	AppID             string    `json:"appid,omitempty"`
	Expiry            time.Time `json:"exp,omitzero"`
	// All is every claim as decoded, for identity_claim lookups.
	All map[string]any `json:"-"`
}

// User is the claim naming the signed-in user: upn, else
// preferred_username, else email.
func (c *Claims) User() string {
	switch {
	case c == nil:
		return ""
	case c.UPN != "":
		return c.UPN
	case c.PreferredUsername != "":
		return c.PreferredUsername
	}
	return c.Email
}

// ParseJWT decodes a JWT's payload without verifying its signature.
// It returns false when tok is not JWT-shaped (Google's tokens are opaque).
func ParseJWT(tok string) (*Claims, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	var all map[string]any
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, false
	}
	c := &Claims{All: all}
	str := func(k string) string { s, _ := all[k].(string); return s }
	switch aud := all["aud"].(type) {
	case string:
		c.Audience = []string{aud}
	case []any:
		for _, a := range aud {
			if s, ok := a.(string); ok {
				c.Audience = append(c.Audience, s)
			}
		}
	}
	if s := str("scp"); s != "" {
		c.Scopes = strings.Fields(s)
	}
	if rs, ok := all["roles"].([]any); ok {
		for _, r := range rs {
			if s, ok := r.(string); ok {
				c.Roles = append(c.Roles, s)
			}
		}
	}
	c.TenantID, c.UPN, c.PreferredUsername = str("tid"), str("upn"), str("preferred_username")
	c.Email, c.Issuer, c.AppID = str("email"), str("iss"), str("appid")
	if c.UPN == "" {
		c.UPN = str("unique_name")
	}
	if exp, ok := all["exp"].(float64); ok {
		c.Expiry = time.Unix(int64(exp), 0).UTC()
	}
	return c, true
}

// claimString looks a claim up by name.
func (c *Claims) claimString(name string) string {
	if c == nil || c.All == nil {
		return ""
	}
	s, _ := c.All[name].(string)
	return s
}

// Valid reports whether the access token is usable at now for at least skew.
func (t *Token) Valid(now time.Time, skew time.Duration) bool {
	if t == nil || t.AccessToken == "" || t.ReauthCause != "" {
		return false
	}
	return t.Expiry.IsZero() || now.Add(skew).Before(t.Expiry)
}

// fromOAuth2 builds our Token from a token endpoint response. requested
// are the scopes asked for, kept when the provider does not list them.
func fromOAuth2(ot *oauth2.Token, requested []string, flow, clientID, identityClaim string, now time.Time) *Token {
	t := &Token{
		AccessToken:  ot.AccessToken,
		RefreshToken: ot.RefreshToken,
		TokenType:    ot.TokenType,
		Expiry:       ot.Expiry.UTC(),
		ObtainedAt:   now.UTC(),
		Flow:         flow,
		ClientID:     clientID,
	}
	if ot.ExpiresIn > 0 {
		// Relative to our clock, which may be a test's.
		t.Expiry = now.Add(time.Duration(ot.ExpiresIn) * time.Second).UTC()
	}
	if s, ok := ot.Extra("scope").(string); ok && s != "" {
		t.Scopes = strings.Fields(s)
	} else {
		t.Scopes = append([]string(nil), requested...)
	}
	if c, ok := ParseJWT(t.AccessToken); ok {
		t.Claims = c
	}
	var id *Claims
	if s, ok := ot.Extra("id_token").(string); ok {
		id, _ = ParseJWT(s)
	}
	for _, c := range []*Claims{id, t.Claims} {
		if identityClaim != "" {
			if u := c.claimString(identityClaim); u != "" {
				t.User = u
				break
			}
		}
		if u := c.User(); u != "" {
			t.User = u
			break
		}
	}
	return t
}

// LoadToken reads an account's stored token. A missing token is an error
// wrapping secret.ErrNotFound.
func LoadToken(store secret.Store, account string) (*Token, error) {
	raw, err := store.Get(secret.TokenKey(account))
	if err != nil {
		if secret.IsNotFound(err) {
			return nil, err
		}
		return nil, fmt.Errorf("reading the token of account %s from the %s store: %w", account, store.Name(), err)
	}
	var t Token
	if err := json.Unmarshal([]byte(raw), &t); err != nil {
		return nil, fmt.Errorf("the stored token of account %s is damaged (%v): run mailport authenticate %s", account, err, account)
	}
	if t.Claims != nil && t.AccessToken != "" {
		// All is not stored; rebuild it for identity_claim lookups.
		if c, ok := ParseJWT(t.AccessToken); ok {
			t.Claims = c
		}
	}
	return &t, nil
}

// SaveToken stores an account's token.
func SaveToken(store secret.Store, account string, t *Token) error {
	raw, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encoding the token of account %s: %w", account, err)
	}
	if err := store.Set(secret.TokenKey(account), string(raw)); err != nil {
		return fmt.Errorf("saving the token of account %s in the %s store: %w", account, store.Name(), err)
	}
	return nil
}

// DeleteToken forgets an account's token (logout). A missing token is fine.
func DeleteToken(store secret.Store, account string) error {
	if err := store.Delete(secret.TokenKey(account)); err != nil && !errors.Is(err, secret.ErrNotFound) {
		return fmt.Errorf("deleting the token of account %s from the %s store: %w", account, store.Name(), err)
	}
	return nil
}
