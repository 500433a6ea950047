"""Party members (党员): the register, by class, each in the organisation holding their membership."""
