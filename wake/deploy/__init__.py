"""Deploys: releases, placement, rollouts."""
