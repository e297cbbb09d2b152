"""Rosenblatt 1958 and the perceptron's classic properties: the claims table says all there is."""

TITLE = "The perceptron (Rosenblatt 1958; Minsky & Papert 1969; Novikoff 1962)"
