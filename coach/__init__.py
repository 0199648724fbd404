"""coach: an offline, voice-guided audio coach for strength training and body scans."""

__version__ = "0.1.0"
