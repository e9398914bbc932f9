// Package oauth obtains, stores and refreshes the OAuth2 tokens mailport
// authenticates with: the user flow (authorization code with PKCE and a
// loopback listener, or a pasted redirect URL), the device flow, and client
// credentials; one TokenSource that every protocol adapter asks for an access
// token, which refreshes on use, persists rotated refresh tokens and
// serialises refreshes across processes; and token inspection (granted
// scopes, JWT claims) for status and diagnosis.
//
// Provider knowledge lives here too: Microsoft endpoints derived from
// base_url, the scopes each protocol needs (a Microsoft token serves one
// resource), Google's access_type=offline and prompt=consent, and the
// provider error codes that mean "sign in again".
//
// Commands use Manager: Authenticate for `mailport authenticate`, Inspect
// for `status`, Logout for `logout`, and TokenSource for everything that
// talks to a mail server.
package oauth
