// Package web is the key-holder's triage console in a browser: a small
// HTTP server, run on the key-holder's own machine by `flare console serve`,
// that decrypts tips in memory and serves the inbox, each tip's page, the
// team's triage forms and case exports.
//
// Reach for Serve with a Config (queue, identities, every key-holder's
// recipient, a name). It listens on 127.0.0.1, prints a URL carrying a
// one-time token, and swaps that token on the first visit for an HttpOnly,
// SameSite=Strict session cookie; every form carries a CSRF token. Requests
// for any other Host name are refused, so a web page that rebinds its own
// name to 127.0.0.1 gets nowhere.
//
// Everything the browser loads comes from this binary — templates, one
// style sheet and one small script for keyboard shortcuts, behind a strict
// Content-Security-Policy — so the console works offline and in Tor
// Browser, and a tip can make the browser fetch nothing. Tip content is only
// ever text to html/template; images are decoded and encoded again by the
// console before the browser sees them, which also drops their metadata;
// SVG and other files are offered only as downloads, with a warning.
//
// What it deliberately does not do: write decrypted tips to disk (except an
// export the key-holder asks for, encrypted to a recipient they name), look
// anything up on a map or any other service, or listen beyond loopback
// without an explicit flag and a TLS certificate.
package web
