"""Readers of the data sets, shared by training and evaluation: CASIA-B silhouettes (`casia_b`) and the
Kinect gait walks seen by virtual cameras (`kinect`), with each protocol's split enforced in code. They
import nothing of training or evaluation."""
