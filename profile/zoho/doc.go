// Package zoho holds Zoho CRM's editions and credit-cost table as data.
package zoho
