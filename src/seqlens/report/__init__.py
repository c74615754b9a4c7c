"""seqlens.report"""
