// Package testbrowser holds the small helpers that the Chromium tests of
// the intake form (channels/web) and of the triage console (console/web)
// share, so that each package's tests speak of pages, not of chromedp's
// plumbing.
package testbrowser

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
)

// Do runs steps in the tab ctx and fails the test on the first error.
func Do(t testing.TB, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// Eval evaluates the JavaScript expression js in the tab ctx and returns
// its value, failing the test if it cannot.
func Eval[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}
