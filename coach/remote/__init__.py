"""Hearing and voice over Wyoming, the Home Assistant voice protocol.

- ``wire``: one exchange with a Wyoming server (describe, transcribe, synthesize);
- ``hearing``: ``--hearing wyoming://HOST:PORT``, a server first, local hearing standing by;
- ``voice``: ``--voice wyoming://HOST:PORT[#VOICE]``, a TTS server first, the local voice
  standing by;
- ``health``: the one backoff and notice for both;
- ``serve``: ``coach serve``, the coach's recognizer as a Wyoming ASR server;
- ``discover`` and ``status``: ``coach servers`` and ``doctor``.
"""
