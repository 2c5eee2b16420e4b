"""The data: reading the datasets' own formats (sources, synthetic), packing them into RecordIO with a
dataset.json (packing, dataset), checking what is on disk (integrity), and MXNet's ImageRecordIter over the
packed files with neon's crop / flip / mean subtraction (iterators).

Imports only the leaves: gluon_resnet.compat, errors, fileio, recipes."""
