// Package training trains the networks natively: a Dataset of patches cut
// from image folders (degraded by bicubic, JPEG or the real-photo model of
// package degrade), and a Trainer that runs the loop (gradient shards
// summed in a fixed order, Adam, the learning-rate schedule), validates,
// plots its curves and checkpoints so that a run resumes exactly. The train
// command's fit verb is its flags.
package training
