"""Hand-written modules in torchvision's style, for the import tests (small, so they run in milliseconds).

Each entry of MODELS is (factory, input shape). They exercise Sequential,
ModuleList, functional calls in forward, torch.cat, x.mean, broadcasting mul,
shared parameterless modules, frozen parameters and a Sequential root.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class TinyResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(16, 16), BasicBlock(16, 16))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2), BasicBlock(32, 32))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TinyVGG(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
                                      nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2))
        self.classifier = nn.Sequential(nn.Linear(16 * 4 * 4, 32), nn.ReLU(True), nn.Dropout(0.5), nn.Linear(32, 10))

    def forward(self, x):
        x = self.features(x)
        x = x.view(x.size(0), -1)
        return self.classifier(x)


class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, growth, 3, padding=1, bias=False)

    def forward(self, x):
        return torch.cat([x, self.conv1(F.relu(self.norm1(x)))], 1)


class TinyDenseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.block = nn.Sequential(DenseLayer(8, 4), DenseLayer(12, 4), DenseLayer(16, 4))
        self.classifier = nn.Linear(20, 5)

    def forward(self, x):
        x = self.block(self.conv0(x))
        x = F.adaptive_avg_pool2d(F.relu(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class SqueezeExcite(nn.Module):
    def __init__(self, channels, squeeze):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.act = nn.SiLU()
        self.gate = nn.Sigmoid()

    def forward(self, x):
        scale = x.mean((2, 3), keepdim=True)
        scale = self.gate(self.fc2(self.act(self.fc1(scale))))
        return x * scale


class TinySENet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 2, 1)
        self.se = SqueezeExcite(16, 4)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        x = self.se(F.relu6(self.stem(x)))
        return self.head(x.mean([2, 3]))


class ListNet(nn.Module):
    """Blocks in a ModuleList, called in a loop in forward."""

    def __init__(self, depth=3):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.GELU()) for _ in range(depth)])
        self.stem = nn.Conv2d(1, 4, 1)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return x


class FunctionalNet(nn.Module):
    """Pooling and activations as functions in forward, a 1d input."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 6, 5, padding=2)
        self.fc = nn.Linear(6 * 8, 4)

    def forward(self, x):
        x = F.max_pool1d(F.leaky_relu(self.conv(x), 0.2), 2)
        return F.log_softmax(self.fc(torch.flatten(x, 1)), dim=1)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
            nn.Hardswish(), nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class TinyMobileNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), InvertedResidual(8, 8, 1, 2),
                                      InvertedResidual(8, 16, 2, 2), InvertedResidual(16, 16, 1, 2))

    def forward(self, x):
        return self.features(x)


class Inception(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch1 = nn.Conv2d(cin, 4, 1)
        self.branch2 = nn.Sequential(nn.Conv2d(cin, 2, 1), nn.Conv2d(2, 4, 3, padding=1))
        self.branch3 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(cin, 2, 1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class TinyInception(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3)
        self.mixed = Inception(6)

    def forward(self, x):
        return self.mixed(self.stem(x))


class TinyUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.mid = nn.Conv2d(4, 8, 3, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.out = nn.Conv2d(8, 2, 1)
        self.extra = nn.Conv2d(2, 2, 1)

    def forward(self, x):
        skip = self.down(x)
        y = self.up(F.relu(self.mid(self.pool(skip))))
        y = self.out(torch.cat([skip, y], dim=1))
        return self.extra(F.interpolate(y, scale_factor=2, mode="nearest"))


def frozen_sequential() -> nn.Module:
    """A Sequential root (torchvision keys 0, 1, ...), GroupNorm, LeakyReLU, and a frozen first conv."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(2, 8), nn.LeakyReLU(0.1), nn.Conv2d(8, 4, 3, stride=2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    for p in model[0].parameters():
        p.requires_grad_(False)
    return model


MODELS = {
    "resnet": (TinyResNet, (3, 32, 32)),
    "vgg": (TinyVGG, (3, 16, 16)),
    "densenet": (TinyDenseNet, (3, 8, 8)),
    "senet": (TinySENet, (3, 16, 16)),
    "modulelist": (ListNet, (1, 8, 8)),
    "functional": (FunctionalNet, (2, 16)),
    "mobilenet": (TinyMobileNet, (3, 16, 16)),
    "inception": (TinyInception, (3, 10, 10)),
    "unet": (TinyUNet, (1, 8, 8)),
    "sequential_frozen": (frozen_sequential, (3, 11, 11)),
}


def channel_shuffle(x, groups):
    """torchvision's ShuffleNetV2 channel shuffle: view, transpose, view back."""
    batch, channels, height, width = x.size()
    x = x.view(batch, groups, channels // groups, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batch, -1, height, width)


class ShuffleUnit(nn.Module):
    """ShuffleNetV2's stride-1 unit: x1, x2 = x.chunk(2, dim=1); cat(x1, branch2(x2)); shuffle."""

    def __init__(self, channels):
        super().__init__()
        half = channels // 2
        self.branch2 = nn.Sequential(nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(True),
                                     nn.Conv2d(half, half, 3, 1, 1, groups=half, bias=False), nn.BatchNorm2d(half))

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        out = torch.cat((x1, self.branch2(x2)), dim=1)
        return channel_shuffle(out, 2)


class TinyShuffleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 2, 1)
        self.stage = nn.Sequential(ShuffleUnit(8), ShuffleUnit(8))
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = self.stage(self.conv1(x))
        return self.fc(x.mean([2, 3]))


class Gamma(nn.Module):
    """A layer scale held as a module's ``weight`` (cnncalc's LayerScale; timm keeps it as ``gamma``)."""

    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels, 1, 1), 1e-6))

    def forward(self, x):
        return self.weight * x


class CNBlock(nn.Module):
    """ConvNeXt's block: depthwise 7x7, permute to channels last, LayerNorm, MLP, permute back, layer scale."""

    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.layer_scale = Gamma(dim)

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + self.layer_scale(torch.permute(y, (0, 3, 1, 2)))


class TinyConvNeXt(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 4, stride=4)
        self.blocks = nn.Sequential(CNBlock(8), CNBlock(8))
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(x.mean((-2, -1)) * 0.5)


class TinyFCN(nn.Module):
    """A segmentation head scaled back to the input's size: F.interpolate(size=x.shape[-2:]), sums and amax."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), nn.ReLU(), nn.Conv2d(4, 4, 3, 2, 1))
        self.classifier = nn.Conv2d(4, 3, 1)

    def forward(self, x):
        y = self.classifier(self.backbone(x))
        y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return y.sum(1, keepdim=True) + y.amax(dim=1, keepdim=True) / 4


MODELS.update({
    "shufflenet": (TinyShuffleNet, (3, 16, 16)),
    "convnext": (TinyConvNeXt, (3, 16, 16)),
    "fcn": (TinyFCN, (1, 12, 12)),
})


class Unsupported(nn.Module):
    """Unsupported: a running sum along the channels (no cnncalc layer type is a cumulative sum)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        x = self.conv(x)
        x = x.cumsum(1)
        return x
