"""Two small torch models for docs/import.md: one cnncalc imports, one it refuses."""

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


def tiny_net(num_classes=10):
    """A stem, two blocks and a classifier."""
    return nn.Sequential(Block(3, 16), Block(16, 32, stride=2), Block(32, 32),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, num_classes))


class OddNet(nn.Module):
    """A running sum along the channels: no cnncalc layer type is one."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        x = self.conv(x)
        x = x.cumsum(dim=1)
        return x
