"""Hash sharing between instances and with files: the exchange format (`format`), file formats
of other tools (`files`), import and export through the bank-entry service (`transfer`), this
instance's signing identity (`identity`), the signed feed partners pull (`feed`), partners and
their pulls (`partners`, `pull`), and partners' verdicts on what we shared (`feedback`)."""
