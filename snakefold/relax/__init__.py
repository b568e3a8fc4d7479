"""Relaxation of predicted structures: OpenMM restrained minimisation and structural violation checks."""
