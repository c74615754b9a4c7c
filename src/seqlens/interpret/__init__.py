"""seqlens.interpret"""
