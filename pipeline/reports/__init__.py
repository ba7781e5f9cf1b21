"""Reading a finished run: ML Metadata lookups, TFMA and TFDV outputs as tables, the
console summary, the HTML report, the model card and the skew check."""
