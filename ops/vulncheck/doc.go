// Package vulncheck holds ops/vulncheck/vulncheck.sh, which `make
// vulncheck` runs: govulncheck against the Go vulnerability database,
// or, when the database cannot be reached, a plain message and exit
// status 2 so that a check that did not run never reads as a pass. The
// package's test runs the make target against an unreachable database
// and against local copies of one.
package vulncheck
